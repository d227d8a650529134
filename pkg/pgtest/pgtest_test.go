package pgtest_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/waybill-dev/waybill/pkg/pgtest"
)

func TestDatabaseIsFreshAndDropped(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	var first, second string
	t.Run("use", func(t *testing.T) {
		first, second = pgtest.Database(t), pgtest.Database(t)
		if first == second {
			t.Fatalf("two databases share the URL %s", first)
		}
		conn, err := pgx.Connect(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var tables int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')").Scan(&tables); err != nil || tables != 0 {
			t.Errorf("%d tables in a new database (err %v)", tables, err)
		}
	})

	u, err := url.Parse(first)
	if err != nil {
		t.Fatal(err)
	}
	name := u.Path[1:]
	u.Path = "/postgres"
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil || exists {
		t.Errorf("database %s still exists after its test (err %v)", name, err)
	}
}
