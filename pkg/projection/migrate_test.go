package projection_test

import (
	"context"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waybill-dev/waybill/pkg/pgtest"
	"github.com/waybill-dev/waybill/pkg/projection"
)

// TestMigrateConcurrentlyAndTwice: four replicas start together on an empty
// database, then one restarts.
func TestMigrateConcurrentlyAndTwice(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Database(t)
	ctx := context.Background()
	migrate := func() error {
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		return projection.Migrate(ctx, conn)
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = migrate()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := migrate(); err != nil {
		t.Fatal(err)
	}

	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var version, tables int
	if err := conn.QueryRow(ctx, "SELECT version FROM waybill.schema_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = 'waybill'").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	if version != migrations(t) || tables != 4 {
		t.Errorf("version %d, %d tables; want %d, 4 (shipments, shipment_events, shipment_refs, schema_version)",
			version, tables, migrations(t))
	}
	var searchPath string
	if err := conn.QueryRow(ctx, "SHOW search_path").Scan(&searchPath); err != nil || searchPath != `"$user", public` {
		t.Errorf("search_path %q after Migrate (err %v): the session must be left as it was", searchPath, err)
	}
}

// migrations counts the embedded migration files.
func migrations(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestEnsureDatabaseConcurrently(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Database(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// Drop the database pgtest made, so the replicas have to create it;
	// pgtest's cleanup drops it again.
	admin := *u
	admin.Path = "/postgres"
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	name := u.Path[1:]
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = projection.EnsureDatabase(ctx, dbURL)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if err := projection.EnsureDatabase(ctx, dbURL); err != nil {
		t.Error(err)
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || !exists {
		t.Errorf("database %s exists: %v (err %v)", name, exists, err)
	}
}
