package projection

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/tern/v2/migrate"
)

// Schema is the schema of the live projection (DESIGN.md "Postgres").
const Schema = "waybill"

// versionTable is tern's bookkeeping table, kept inside the schema it
// describes so a rebuilt schema carries its own version through the swap.
const versionTable = "schema_version"

// migrateLock serializes CREATE SCHEMA IF NOT EXISTS between replicas that
// start together (it races on pg_namespace's unique index). tern takes its own
// advisory lock around the migrations themselves.
const migrateLock = int64(0x77617962696c6c) // "waybill"

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migrate creates the waybill schema if missing and applies the pending
// migrations. Replicas may call it concurrently: they take turns on an
// advisory lock, and the later ones find nothing to do.
//
// conn should be a dedicated connection (pgx.Connect, or a pool connection
// that is closed afterwards): the migrator resets its session settings
// (RESET ALL), and a cancelled ctx can leave a session-level advisory lock on
// it. Errors are tern's (migrate.MigrationPgError names the failing file) or
// pgx's.
func Migrate(ctx context.Context, conn *pgx.Conn) error {
	return migrateSchema(ctx, conn, Schema)
}

// migrateSchema applies the embedded migrations to schema. The files name
// their objects unqualified; each runs with search_path set to schema, which
// is how a replay builds an identical projection next to the live one.
func migrateSchema(ctx context.Context, conn *pgx.Conn, schema string) (err error) {
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLock); err != nil {
		return fmt.Errorf("projection: migrate %s: lock: %w", schema, err)
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLock); uerr != nil && err == nil {
			err = fmt.Errorf("projection: migrate %s: unlock: %w", schema, uerr)
		}
	}()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident); err != nil {
		return fmt.Errorf("projection: migrate %s: %w", schema, err)
	}

	// Unquoted: tern splits the name on "." to look the table up. The
	// schema names of this package need no quoting.
	m, err := migrate.NewMigrator(ctx, conn, schema+"."+versionTable)
	if err != nil {
		return fmt.Errorf("projection: migrate %s: %w", schema, err)
	}
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	if err := m.LoadMigrations(files); err != nil {
		return fmt.Errorf("projection: load migrations: %w", err)
	}
	for _, mig := range m.Migrations {
		// tern runs RESET ALL after each migration, so this does not leak
		// into the next one or into the caller's session.
		mig.UpSQL = "SET search_path TO " + ident + ";\n" + mig.UpSQL
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("projection: migrate %s: %w", schema, err)
	}
	return nil
}

// EnsureDatabase creates the database url names, connecting to the same
// server's postgres database, unless it exists. Replicas may call it
// concurrently: losing the race to create it is not an error.
func EnsureDatabase(ctx context.Context, url string) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("projection: database url: %w", err)
	}
	name := cfg.Database
	if name == "" {
		return fmt.Errorf("projection: database url names no database")
	}
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("projection: ensure database %s: %w", name, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("projection: ensure database %s: %w", name, err)
	}
	if exists {
		return nil // no CREATEDB privilege needed
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == duplicateDatabase || pgErr.Code == uniqueViolation) {
		// Another replica created it between our check and our CREATE; a
		// close race surfaces as a unique violation on pg_database.
		return nil
	}
	if err != nil {
		return fmt.Errorf("projection: ensure database %s: %w", name, err)
	}
	return nil
}

// SQLSTATEs this package treats specially.
const (
	duplicateDatabase = "42P04"
	uniqueViolation   = "23505"
)
