package console

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
)

func TestLoadConfig(t *testing.T) {
	env := service.EnvFrom(map[string]string{"WAYBILL_CONSOLE_TOKEN": "0123456789abcdef"})
	cfg := LoadConfig(env)
	if err := env.Err(); err != nil {
		t.Fatal(err)
	}
	if cfg.HTTPAddr != ":8084" || cfg.DatabaseURL != DefaultDatabaseURL || cfg.SessionTTL != 12*time.Hour ||
		cfg.Heartbeat != 15*time.Second || cfg.Token != "0123456789abcdef" {
		t.Errorf("defaults %+v", cfg)
	}
	for name, vars := range map[string]map[string]string{
		"unset": {},
		"empty": {"WAYBILL_CONSOLE_TOKEN": "  "},
		"short": {"WAYBILL_CONSOLE_TOKEN": "0123456789abcde"},
	} {
		env := service.EnvFrom(vars)
		LoadConfig(env)
		err := env.Err()
		if err == nil || !strings.Contains(err.Error(), "WAYBILL_CONSOLE_TOKEN") {
			t.Errorf("%s token: %v", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "0123456789abcde") {
			t.Errorf("%s token: the error shows the token: %v", name, err)
		}
	}
}

// TestRunRefusesWithoutToken: `waybill run` builds Config itself; Run still
// refuses to serve references without a usable token.
func TestRunRefusesWithoutToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, token := range []string{"", "short"} {
		err := Run(ctx, Config{Common: service.Common{HTTPAddr: "127.0.0.1:0"}, Token: token}, zerolog.Nop(), service.NewOps())
		if err == nil || !strings.Contains(err.Error(), "WAYBILL_CONSOLE_TOKEN") {
			t.Errorf("token %q: %v", token, err)
		}
	}
}

func TestCursorRoundTrip(t *testing.T) {
	k := deriveKeys("0123456789abcdef0123")
	c, err := k.signCursor("shipments", []string{"in_transit", "", ""}, shipmentCursor{StatusAt: 42, Key: "ups:1Z"})
	if err != nil {
		t.Fatal(err)
	}
	var got shipmentCursor
	if err := k.openCursor("shipments", []string{"in_transit", "", ""}, c, &got); err != nil || got.StatusAt != 42 || got.Key != "ups:1Z" {
		t.Errorf("%+v %v", got, err)
	}
	for name, open := range map[string]func() error{
		"other filters": func() error { return k.openCursor("shipments", []string{"delivered", "", ""}, c, &got) },
		"other kind":    func() error { return k.openCursor("deadletters", []string{"in_transit", "", ""}, c, &got) },
		"other token": func() error {
			return deriveKeys("another-token-0123456").openCursor("shipments", []string{"in_transit", "", ""}, c, &got)
		},
		"split filters": func() error { return k.openCursor("shipments", []string{"in_transit", ""}, c, &got) },
	} {
		if err := open(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
