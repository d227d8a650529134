// Package pgtest gives each test its own Postgres database on the server
// DATABASE_URL names, so tests that write the projection run in parallel and
// leave nothing behind.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultURL is the server tests use when DATABASE_URL is unset (DESIGN.md's
// default).
const DefaultURL = "postgres://postgres@127.0.0.1:5432/waybill?sslmode=disable"

// Database creates an empty database named waybill_test_<random> on the
// server of DATABASE_URL (DefaultURL when unset) and returns its URL. The
// database is dropped, connections and all, when the test ends. A server that
// cannot be reached fails the test: these tests are meant to run.
func Database(t testing.TB) string {
	t.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		base = DefaultURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: DATABASE_URL must be a postgres:// URL: %q", base)
	}

	var b [8]byte
	_, _ = rand.Read(b[:])
	name := "waybill_test_" + hex.EncodeToString(b[:])
	ident := pgx.Identifier{name}.Sanitize()

	admin := *u
	admin.Path = "/postgres"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		t.Fatalf("pgtest: connect to %s: %v (start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)", admin.Redacted(), err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, admin.String())
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(context.Background())
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})

	u.Path = "/" + name
	return u.String()
}
