package projector_test

import (
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/services/projector"
)

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, c projector.Config)
		wantErr string
	}{{
		name: "defaults",
		env:  map[string]string{},
		check: func(t *testing.T, c projector.Config) {
			if c.HTTPAddr != ":8082" || c.DatabaseURL != projector.DefaultDatabaseURL || c.BatchSize != 500 ||
				c.BatchWait != 5*time.Millisecond || c.Writers != 4 || c.MaxDeliver != 5 ||
				c.StallAfter != 72*time.Hour || c.StallInterval != 5*time.Minute {
				t.Errorf("defaults %+v", c)
			}
		},
	}, {
		name: "set",
		env: map[string]string{"DATABASE_URL": "postgres://db/x", "PROJECTOR_BATCH_SIZE": "100",
			"PROJECTOR_BATCH_WAIT": "20ms", "WAYBILL_STALL_AFTER": "24h", "WAYBILL_STALL_INTERVAL": "0"},
		check: func(t *testing.T, c projector.Config) {
			if c.DatabaseURL != "postgres://db/x" || c.BatchSize != 100 || c.BatchWait != 20*time.Millisecond ||
				c.StallAfter != 24*time.Hour || c.StallInterval != 0 {
				t.Errorf("config %+v", c)
			}
		},
	}, {
		name:    "batch size out of range",
		env:     map[string]string{"PROJECTOR_BATCH_SIZE": "0"},
		wantErr: "PROJECTOR_BATCH_SIZE",
	}, {
		name:    "no stall window",
		env:     map[string]string{"WAYBILL_STALL_AFTER": "0s"},
		wantErr: "WAYBILL_STALL_AFTER",
	}, {
		name:    "ack wait too short",
		env:     map[string]string{"PROJECTOR_ACK_WAIT": "1s"},
		wantErr: "PROJECTOR_ACK_WAIT",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := service.EnvFrom(tt.env)
			c := projector.LoadConfig(env)
			err := env.Err()
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v, want one naming %s", err, tt.wantErr)
				}
			case err != nil:
				t.Fatal(err)
			default:
				tt.check(t, c)
			}
		})
	}
}
