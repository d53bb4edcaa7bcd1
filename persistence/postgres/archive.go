package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DefaultSchema is the schema Open uses when Config.Schema is empty.
const DefaultSchema = "public"

// versionTable is the table, inside the archive's schema, in which tern
// records the applied migration version.
const versionTable = "schema_version"

// schemaPattern is what Config.Schema may be: a lowercase SQL identifier
// that needs no quoting, because tern splices the version table's name
// into its SQL as given.
var schemaPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Config says where the archive lives.
type Config struct {
	// URL is a libpq connection string or URL, such as
	// postgres://arbiter:secret@db:5432/arbiter?sslmode=verify-full. Errors
	// name its host and database, never its password.
	URL string
	// Schema holds every table of the archive. It is created if missing
	// and is every connection's search_path, so that several archives (or
	// tests) can share a database. A lowercase identifier; default
	// DefaultSchema.
	Schema string
	// MaxConns caps the pool's connections; 0 keeps pgxpool's default
	// (the greater of 4 and the number of CPUs) or the URL's pool_max_conns.
	MaxConns int32
}

// Archive is the Postgres archive. Safe for concurrent use; every method
// blocks on the database for at most as long as its ctx allows.
type Archive struct {
	pool   *pgxpool.Pool
	schema string
}

// Open connects to the database cfg names, creates the schema if it is
// missing and migrates it to the newest version. It fails fast, with an
// error naming the server, if the database cannot be reached; the returned
// Archive must be closed with Close.
func Open(ctx context.Context, cfg Config) (*Archive, error) {
	schema := cfg.Schema
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaPattern.MatchString(schema) {
		return nil, fmt.Errorf("postgres: open: schema %q is not a lowercase SQL identifier", schema)
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// pgconn redacts the password on a best-effort basis only: say
		// no more than that the URL is malformed.
		var perr *pgconn.ParseConfigError
		if errors.As(err, &perr) {
			return nil, errors.New("postgres: open: malformed database URL")
		}
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	// A startup parameter rather than a SET: it survives RESET ALL (which
	// tern issues after each migration) and costs no round trip.
	pc.ConnConfig.RuntimeParams["search_path"] = schema
	if pc.ConnConfig.RuntimeParams["application_name"] == "" {
		pc.ConnConfig.RuntimeParams["application_name"] = "arbiter"
	}
	where := describe(pc.ConnConfig)

	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", where, err)
	}
	a := &Archive{pool: pool, schema: schema}
	if err := a.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where, err)
	}
	if err := a.createSchema(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where, err)
	}
	if err := a.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open %s: %w", where, err)
	}
	return a, nil
}

// describe names a server for errors and logs: host, port and database,
// never user secrets.
func describe(c *pgx.ConnConfig) string {
	return net.JoinHostPort(c.Host, strconv.Itoa(int(c.Port))) + "/" + c.Database
}

// Close closes every connection of the pool, waiting for the ones in use
// to be released. The Archive must not be used afterwards.
func (a *Archive) Close() {
	a.pool.Close()
}

// Ping reports whether the database answers; it is the archive's
// readiness check.
func (a *Archive) Ping(ctx context.Context) error {
	if err := a.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}

// schemaLock is the advisory lock key that serializes creating schemas, so
// that two processes creating the same one do not trip over each other
// (CREATE SCHEMA IF NOT EXISTS is not safe against a concurrent twin).
// Arbitrary; distinct from tern's migration lock.
const schemaLock = int64(0x6172626974657201)

// createSchema creates a.schema unless it exists. It looks first so that a
// role allowed to use the schema but not to create schemas can still open
// the archive.
func (a *Archive) createSchema(ctx context.Context) error {
	exists := func(q interface {
		QueryRow(context.Context, string, ...any) pgx.Row
	}) (bool, error) {
		var ok bool
		err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)`, a.schema).Scan(&ok)
		return ok, err
	}
	ok, err := exists(a.pool)
	if err != nil {
		return fmt.Errorf("look up schema %s: %w", a.schema, err)
	}
	if ok {
		return nil
	}
	err = pgx.BeginFunc(ctx, a.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, schemaLock); err != nil {
			return err
		}
		if ok, err := exists(tx); err != nil || ok {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{a.schema}.Sanitize())
		return err
	})
	if err != nil {
		return fmt.Errorf("create schema %s: %w", a.schema, err)
	}
	return nil
}

// migrate applies the embedded migrations on one connection. tern holds a
// session advisory lock (pg_advisory_lock) around both creating its version
// table and migrating, so concurrent Opens take turns and the later ones
// find nothing to do; we add no lock of our own.
func (a *Archive) migrate(ctx context.Context) (err error) {
	conn, err := a.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer func() {
		if err == nil {
			conn.Release()
			return
		}
		// tern unlocks with the ctx that may have just ended: a connection
		// that failed mid-migration may still hold the advisory lock, and
		// returned to the pool it would block every later migrator. Close
		// it instead, which drops the lock.
		c := conn.Hijack()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = c.Close(closeCtx) // the migration's error is the one worth reporting
	}()

	m, err := migrate.NewMigrator(ctx, conn.Conn(), a.schema+"."+versionTable)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := m.LoadMigrations(files); err != nil {
		return fmt.Errorf("migrate: load migrations: %w", err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}
