package projection_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/projection"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestRetryable(t *testing.T) {
	t.Parallel()
	pg := func(code string) error {
		return fmt.Errorf("projection: apply: %w", &pgconn.PgError{Code: code})
	}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"invalid event", fmt.Errorf("event x: %w", tracking.ErrInvalidEvent), false},
		{"invalid text representation", pg("22P02"), false},
		{"NUL byte or bad UTF-8", pg("22021"), false},
		{"not null violation", pg("23502"), false},
		{"index row too large", pg("54000"), false},
		{"serialization failure", pg("40001"), true},
		{"deadlock", pg("40P01"), true},
		{"too many connections", pg("53300"), true},
		{"admin shutdown", pg("57P01"), true},
		{"statement timeout", pg("57014"), true},
		{"connection failure", pg("08006"), true},
		{"undefined table (not migrated)", pg("42P01"), true},
		{"deadline", fmt.Errorf("apply: %w", context.DeadlineExceeded), true},
		{"cancelled", context.Canceled, true},
		{"connection cut", io.ErrUnexpectedEOF, true},
	}
	for _, tt := range tests {
		if got := projection.Retryable(tt.err); got != tt.want {
			t.Errorf("%s: Retryable(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestRetryableFromPostgres classifies errors the server and the driver
// really return.
func TestRetryableFromPostgres(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t)
	ctx := context.Background()

	nul := event("ups", "1Z", tracking.InTransit, 0, "I")
	nul.Message = "bad\x00byte"
	_, err := s.Apply(ctx, []tracking.Event{nul}, time.Now())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || projection.Retryable(err) {
		t.Errorf("NUL byte in a message: %v, want a permanent Postgres error", err)
	}

	down, err := pgxpool.New(ctx, "postgres://postgres@127.0.0.1:1/waybill?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	_, err = projection.New(down).Apply(ctx, []tracking.Event{event("ups", "1Z", tracking.InTransit, 0, "I")}, time.Now())
	if err == nil || !projection.Retryable(err) {
		t.Errorf("server unreachable: %v, want a retryable error", err)
	}

	timeout, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-timeout.Done()
	if _, err = s.Apply(timeout, []tracking.Event{event("ups", "1Z", tracking.InTransit, 0, "I")}, time.Now()); err == nil || !projection.Retryable(err) {
		t.Errorf("deadline passed: %v, want a retryable error", err)
	}
}
