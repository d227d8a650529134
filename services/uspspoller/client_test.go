package uspspoller_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/services/uspspoller"
	"github.com/waybill-dev/waybill/services/uspspoller/uspsfake"
)

func newFakeClient(t *testing.T, opts ...uspsfake.Option) (*uspspoller.Client, *uspsfake.Server) {
	t.Helper()
	fake := uspsfake.New(opts...)
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return uspspoller.NewClient(srv.URL, "fake-client", "fake-secret"), fake
}

// TestConcurrentCallsShareOneToken: many polls at once, one token request.
func TestConcurrentCallsShareOneToken(t *testing.T) {
	c, fake := newFakeClient(t)
	nums := numbers("9400CONC", 50)
	for _, n := range nums {
		fake.Script(n, uspsfake.Script{Events: uspsfake.Delivered})
	}
	var wg sync.WaitGroup
	for _, n := range nums {
		wg.Go(func() {
			if _, err := c.Track(context.Background(), n); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := fake.Counts(); got.Token != 1 || got.Found != len(nums) {
		t.Errorf("counts %+v, want 1 token for %d polls", got, len(nums))
	}

	// Revoked: the concurrent 401s lead to one refresh.
	fake.ExpireTokens()
	for _, n := range nums {
		wg.Go(func() {
			if _, err := c.Track(context.Background(), n); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := fake.Counts(); got.Token != 2 {
		t.Errorf("%d token requests after a revocation, want 2", got.Token)
	}
}

// TestClientErrors classifies USPS answers.
func TestClientErrors(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantErr    error
		wantCode   string
		retryAfter time.Duration
	}{
		{"not found", 404, nil, `{"apiVersion":"3.2.1","error":{"code":"404","message":"Tracking number not found","errors":[]}}`, uspspoller.ErrNotFound, "404", 0},
		{"rate limited", 429, map[string]string{"Retry-After": "120"}, `{"error":{"code":"429","message":"Too Many Requests"}}`, uspspoller.ErrRateLimited, "429", 2 * time.Minute},
		{"unavailable with a date", 503, map[string]string{"Retry-After": time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)}, `<html>busy</html>`, uspspoller.ErrUnavailable, "", 89 * time.Second},
		{"server error", 500, nil, `{"error":{"code":500,"message":"boom"}}`, uspspoller.ErrUnavailable, "500", 0},
		{"forbidden", 403, nil, `{"error":{"code":"403","message":"no access to Tracking"}}`, uspspoller.ErrForbidden, "403", 0},
		{"bad number", 400, nil, `{"error":{"code":"400","message":"Invalid tracking number"}}`, uspspoller.ErrRejected, "400", 0},
		{"still 401 with a fresh token", 401, nil, `{"error":{"code":"401","message":"Unauthorized"}}`, uspspoller.ErrUnauthorized, "401", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tokens atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/oauth2/v3/token" {
					tokens.Add(1)
					fmt.Fprintf(w, `{"access_token":"tok%d","expires_in":"3600"}`, tokens.Load())
					return
				}
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			}))
			defer srv.Close()
			c := uspspoller.NewClient(srv.URL, "id", "secret")
			_, err := c.Track(context.Background(), "9400X")
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			var apiErr *uspspoller.APIError
			if !errors.As(err, &apiErr) || apiErr.Code != tt.wantCode || apiErr.Status != tt.status {
				t.Fatalf("error %#v", err)
			}
			if d := apiErr.RetryAfter - tt.retryAfter; d < -2*time.Second || d > 2*time.Second {
				t.Errorf("Retry-After %v, want %v", apiErr.RetryAfter, tt.retryAfter)
			}
			wantTokens := int32(1)
			if tt.status == 401 {
				wantTokens = 2 // refreshed once, then given up
			}
			if tokens.Load() != wantTokens {
				t.Errorf("%d token requests, want %d", tokens.Load(), wantTokens)
			}
		})
	}
}

// TestTokenErrorsHideCredentials: a refused client gets ErrUnauthorized
// naming the OAuth error, never the credentials.
func TestTokenErrorsHideCredentials(t *testing.T) {
	fake := uspsfake.New()
	srv := httptest.NewServer(fake)
	defer srv.Close()
	const id, secret = "id-9f8e7d", "secret-1a2b3c"
	c := uspspoller.NewClient(srv.URL, id, secret)
	_, err := c.Track(context.Background(), "9400X")
	if !errors.Is(err, uspspoller.ErrUnauthorized) || !strings.Contains(err.Error(), "invalid_client") {
		t.Fatalf("error %v", err)
	}
	if msg := fmt.Sprintf("%v %+v %#v", err, err, err); strings.Contains(msg, id) || strings.Contains(msg, secret) {
		t.Errorf("credentials in %q", msg)
	}
}
