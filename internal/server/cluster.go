package server

import (
	"net"
	"path/filepath"
	"time"

	"github.com/gander-xmpp/gander/internal/cluster"
)

// Envelope room on top of the largest stanza a c2s listener accepts, and
// the bounds of the NATS payload (docs/cluster.md, "Transport").
const (
	clusterEnvelope   = 64 << 10
	clusterMinPayload = 1 << 20
	clusterMaxPayload = 64 << 20
)

// buildCluster creates the cluster node when the configuration turns
// clustering on ([cluster] or [internal_databases.cets]); without them
// nothing is created and the server is a single node.
func (s *Server) buildCluster() error {
	if !s.cfg.Clustered() {
		return nil
	}
	cets, cl := s.cfg.InternalDatabases.CETS, s.cfg.Cluster
	var disc cluster.Discovery
	switch cets.Backend {
	case "file":
		path := cets.NodeListFile
		if !filepath.IsAbs(path) {
			path = filepath.Join(s.opts.DataDir, path)
		}
		_, port, _ := net.SplitHostPort(cl.Listen)
		disc = cluster.NewFileDiscovery(path, port)
	default:
		disc = cluster.NewSQLDiscovery(s.db, cets.ClusterName)
	}
	n, err := cluster.New(cluster.Config{
		NodeName:      s.cfg.General.NodeName,
		ClusterName:   cets.ClusterName,
		Listen:        cl.Listen,
		Advertise:     cl.Advertise,
		NATSURLs:      cl.NATSURLs(),
		Secret:        cl.Secret,
		NodeTimeout:   time.Duration(cl.NodeTimeout) * time.Second,
		MaxPayload:    s.clusterPayload(),
		Discovery:     disc,
		Log:           s.log,
		Metrics:       s.metrics,
		ProbeInterval: time.Duration(s.cfg.Instrumentation.ProbeInterval) * time.Second,
	})
	if err != nil {
		return err
	}
	s.cluster = n
	// The node joins before the features and listeners start (they find
	// the cluster's sessions in the table) and leaves after the listeners
	// closed this node's sessions, so that peers see those closed first.
	s.life.add("cluster", n)
	return nil
}

// clusterPayload is the NATS maximum payload: the largest stanza a c2s
// listener accepts plus the envelope, within NATS's bounds.
func (s *Server) clusterPayload() int {
	largest := 0
	for _, l := range s.cfg.Listen.C2S {
		if l.MaxStanzaSize.IsUnlimited() {
			return clusterMaxPayload
		}
		largest = max(largest, int(l.MaxStanzaSize))
	}
	return min(max(largest+clusterEnvelope, clusterMinPayload), clusterMaxPayload)
}

// Cluster returns the cluster node, or nil on a single node.
func (s *Server) Cluster() *cluster.Node { return s.cluster }
