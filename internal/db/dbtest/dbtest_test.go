package dbtest

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWithDatabase(t *testing.T) {
	tests := []struct{ dsn, want string }{
		{"postgres://u:p@h:5433/postgres?sslmode=disable", "postgres://u:p@h:5433/gander_t_x?sslmode=disable"},
		{"postgresql://h/", "postgresql://h/gander_t_x"},
		{"host=h user=u dbname=postgres", "host=h user=u dbname=postgres dbname=gander_t_x"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, withDatabase(tt.dsn, "gander_t_x"))
	}
}

func TestUnreachablePostgresSkips(t *testing.T) {
	t.Setenv(EnvPostgresDSN, "postgres://postgres@127.0.0.1:1/postgres?sslmode=disable&connect_timeout=2")
	t.Setenv(EnvPostgresRequired, "")
	var skipped bool
	t.Run("pgsql", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		Open(t, "pgsql")
	})
	require.True(t, skipped, "an unreachable PostgreSQL is skipped unless required")
}
