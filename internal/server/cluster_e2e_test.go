package server_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/server"
	"github.com/gander-xmpp/gander/internal/server/servertest"
	"github.com/gander-xmpp/gander/internal/wait"
)

// clusterName returns a fresh cluster name, so that tests sharing a
// database server or a NATS deployment never meet.
func clusterName() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:])
}

// clustered turns clustering on for a node named node: embedded NATS on a
// random loopback route port, rdbms discovery, a 2 s node timeout.
func clustered(cluster, node string) func(*config.Config) {
	return func(c *config.Config) {
		c.General.NodeName = node
		c.InternalDatabases.CETS = &config.CETS{Backend: "rdbms", ClusterName: cluster}
		c.Cluster = &config.ClusterSection{Listen: "127.0.0.1:0", NodeTimeout: 2}
	}
}

// TestClusterForms: two nodes on one PostgreSQL database, started one
// after the other, find each other (docs/cluster.md).
func TestClusterForms(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, db.PostgreSQL)
	cl := clusterName()
	a := startServer(t, d, clustered(cl, "gander1@127.0.0.1"))
	b := startServer(t, d, clustered(cl, "gander2@127.0.0.1"))
	both := fmt.Sprint([]string{"gander1@127.0.0.1", "gander2@127.0.0.1"})
	for _, s := range []*testServer{a, b} {
		wait.Until(t, 5*time.Second, func() error {
			st := s.Cluster().Status()
			if fmt.Sprint(st.AvailableNodes) != both || fmt.Sprint(st.JoinedNodes) != both ||
				fmt.Sprint(st.DiscoveredNodes) != both || len(st.UnavailableNodes) != 0 || !st.DiscoveryWorks {
				return fmt.Errorf("%s: %+v", s.Cluster().Name(), st)
			}
			return nil
		})
	}
}

// TestClusterNameInUse: a node whose name a live node of its cluster uses
// refuses to start, naming general.node_name.
func TestClusterNameInUse(t *testing.T) {
	t.Parallel()
	d := dbtest.Open(t, db.PostgreSQL)
	cl := clusterName()
	startServer(t, d, clustered(cl, "gander1@127.0.0.1"))
	cfg := servertest.Config()
	cfg.Listen.C2S[0].Port = 0
	clustered(cl, "gander1@127.0.0.1")(cfg)
	ctx := context.Background()
	srv, err := server.New(ctx, cfg, server.Options{DataDir: t.TempDir(), Log: servertest.Logger(t), DB: d})
	require.NoError(t, err)
	err = srv.Start(ctx)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "general.node_name"), err.Error())
	require.Empty(t, srv.C2SAddrs(), "a refused node opened a listener")
	require.NoError(t, srv.Stop(ctx))
}

// TestSingleNodeHasNoCluster: without [cluster] and
// [internal_databases.cets] there is no cluster and no cluster metric.
func TestSingleNodeHasNoCluster(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, nil)
	require.Nil(t, s.Cluster())
	fams, err := s.Metrics().Prometheus().Gather()
	require.NoError(t, err)
	for _, f := range fams {
		if n := f.GetName(); strings.HasPrefix(n, "cets_") || strings.HasPrefix(n, "cluster_") || strings.HasPrefix(n, "sm_total") {
			t.Errorf("single node exposes %s", n)
		}
	}
}
