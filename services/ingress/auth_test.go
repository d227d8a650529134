package ingress_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/waybill-dev/waybill/services/ingress"
)

func TestParseAuthAndCheck(t *testing.T) {
	body := []byte(`{"event_id":"1"}`)
	tests := []struct {
		name    string
		spec    string
		headers map[string]string
		ok      bool
	}{
		{"header ok", "header:X-API-Key:k:with:colons", map[string]string{"X-API-Key": "k:with:colons"}, true},
		{"header wrong", "header:X-API-Key:k", map[string]string{"X-API-Key": "K"}, false},
		{"header missing", "header:X-API-Key:k", nil, false},
		{"header longer", "header:X-API-Key:k", map[string]string{"X-API-Key": "kk"}, false},
		{"bearer ok", "bearer:tok", map[string]string{"Authorization": "Bearer tok"}, true},
		{"bearer scheme case", "bearer:tok", map[string]string{"Authorization": "bearer tok"}, true},
		{"bearer wrong", "bearer:tok", map[string]string{"Authorization": "Bearer tok2"}, false},
		{"bearer basic", "bearer:tok", map[string]string{"Authorization": "Basic tok"}, false},
		{"hmac ok", "hmac-sha256:aftership-hmac-sha256:s", map[string]string{"aftership-hmac-sha256": ingress.Sign("s", body)}, true},
		{"hmac other body", "hmac-sha256:aftership-hmac-sha256:s", map[string]string{"aftership-hmac-sha256": ingress.Sign("s", []byte("{}"))}, false},
		{"hmac missing", "hmac-sha256:aftership-hmac-sha256:s", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ingress.ParseAuth(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range tt.headers {
				h.Set(k, v)
			}
			get := func(name string) []byte {
				if v := h.Values(name); len(v) > 0 {
					return []byte(v[0])
				}
				return nil
			}
			err = a.Check(get, body)
			if (err == nil) != tt.ok {
				t.Fatalf("Check = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ingress.ErrUnauthorized) {
				t.Fatalf("error not classified: %v", err)
			}
		})
	}
}

func TestParseAuthErrorsHideSecrets(t *testing.T) {
	for _, spec := range []string{"header:OnlyName", "bearer:", "hmac-sha256:H", "oauth2:id", "basic:user:pa55word", "pa55word"} {
		_, err := ingress.ParseAuth(spec)
		if err == nil {
			t.Fatalf("%q accepted", spec)
		}
		if strings.Contains(err.Error(), "pa55word") {
			t.Errorf("error quotes the secret: %v", err)
		}
	}
}
