package projector

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// health is the Postgres half of readiness: the database answers a ping,
// and writes are not failing. A projector that cannot write is alive (it
// holds its batches and retries) but not ready.
type health struct {
	mu      sync.Mutex
	pool    *pgxpool.Pool // nil until the database is migrated
	failing error
	since   time.Time
}

func (h *health) connected(pool *pgxpool.Pool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.pool = pool
}

// fail records that Postgres could not be written (or migrated).
func (h *health) fail(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failing == nil {
		h.since = time.Now()
	}
	h.failing = err
}

// ok records that Postgres answered.
func (h *health) ok() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failing = nil
}

// writing reports whether the last write reached Postgres.
func (h *health) writing() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.failing == nil
}

// probe is the readiness check "postgres".
func (h *health) probe(ctx context.Context) error {
	h.mu.Lock()
	pool, failing, since := h.pool, h.failing, h.since
	h.mu.Unlock()
	if pool == nil {
		if failing != nil {
			return fmt.Errorf("not connected: %w", failing)
		}
		return errors.New("not connected yet")
	}
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	if failing != nil {
		return fmt.Errorf("writes failing since %s: %w", since.UTC().Format(time.RFC3339), failing)
	}
	return nil
}
