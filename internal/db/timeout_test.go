package db

import (
	"context"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStatementTimeout checks that query_timeout reaches PostgreSQL: a
// statement that runs longer is cancelled by the server.
func TestStatementTimeout(t *testing.T) {
	dsn := os.Getenv("GANDER_TEST_PG_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	pass, _ := u.User.Password()
	cfg := Config{Driver: PostgreSQL, Host: u.Hostname(), Port: port, Database: strings.TrimPrefix(u.Path, "/"),
		Username: u.User.Username(), Password: pass, StatementTimeout: 100 * time.Millisecond}
	if !strings.Contains(postgresURL(cfg), "statement_timeout=100") {
		t.Fatalf("URL %q lacks statement_timeout", postgresURL(cfg))
	}
	sqlDB, _, err := openPostgres(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer sqlDB.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(ctx); err != nil {
		if os.Getenv("GANDER_TEST_PG_REQUIRED") == "1" {
			t.Fatalf("PostgreSQL unreachable: %v", err)
		}
		t.Skipf("PostgreSQL unreachable (%v); set GANDER_TEST_PG_REQUIRED=1 to make this a failure", err)
	}
	if _, err := sqlDB.ExecContext(ctx, "SELECT pg_sleep(0.01)"); err != nil {
		t.Fatalf("a short statement failed: %v", err)
	}
	start := time.Now()
	_, err = sqlDB.ExecContext(ctx, "SELECT pg_sleep(5)")
	if err == nil || !strings.Contains(err.Error(), "statement timeout") {
		t.Fatalf("pg_sleep(5) with a 100 ms timeout: err %v, want a statement timeout", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("the statement was cancelled after %v, want about 100ms", took)
	}
}
