// Package servertest starts a real Gander server for the tests of the
// commands (cmd/gander, cmd/gander-bench): random loopback ports, cheap
// SCRAM iterations, an admin GraphQL endpoint with admin/secret, stopped
// when the test ends.
package servertest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/server"
)

// Admin credentials of the admin endpoint Start configures.
const (
	AdminUser     = "admin"
	AdminPassword = "secret"
)

// Start starts cfg (its c2s port set to 0, 4096 SCRAM iterations, one
// HTTP listener on 127.0.0.1 with the admin GraphQL endpoint at
// /api/graphql) and stops it at the end of the test.
func Start(t *testing.T, cfg *config.Config) *server.Server {
	t.Helper()
	return StartDB(t, cfg, nil)
}

// StartDB is Start on the database d (nil: the configured one, or the
// embedded default in a temporary directory).
func StartDB(t *testing.T, cfg *config.Config, d *db.DB) *server.Server {
	t.Helper()
	cfg.Listen.C2S[0].Port = 0
	cfg.Auth.Password.ScramIterations = 4096
	cfg.Listen.HTTP = []config.HTTP{{IPAddress: "127.0.0.1", Handlers: config.Handlers{GraphQL: []config.GraphQLHandler{
		{Host: "_", Path: "/api/graphql", SchemaEndpoint: "admin", Username: AdminUser, Password: AdminPassword}}}}}
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: t.TempDir(), Log: slog.New(slog.DiscardHandler), DB: d})
	require.NoError(t, err)
	require.NoError(t, srv.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Stop(sctx)
	})
	return srv
}
