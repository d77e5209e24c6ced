package cluster

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/db"
)

// Discovery tells where the nodes of the cluster may be (docs/cluster.md,
// "Discovery"). Liveness is decided by heartbeats, not here. Methods are
// called from one goroutine at a time.
type Discovery interface {
	// Refresh registers self (where the backend supports it) and returns
	// the cluster's nodes. The list may hold this node's name with another
	// instance and address: a live node with the same name, or the
	// registration of an earlier process.
	Refresh(ctx context.Context, self Member) ([]Member, error)
	// Remove deletes the registration of the node name (this node's own
	// at a graceful stop, a dead node's on removeFromCluster).
	Remove(ctx context.Context, name string) error
}

// Member is a node as discovery and heartbeats describe it.
type Member struct {
	// Name is general.node_name.
	Name string
	// Instance is the random id of the node's current process (empty when
	// the backend does not know it).
	Instance string
	// Addr is the advertised route address, "host:port"; empty in
	// external-NATS mode.
	Addr string
}

// discoveryExpiry is how long a row that is no longer refreshed stays in
// the rdbms discovery table.
const discoveryExpiry = time.Hour

// SQLDiscovery is the "rdbms" discovery backend: one row per node in the
// cluster_nodes table of the shared database, with timestamps from the
// database clock.
type SQLDiscovery struct {
	db      *db.DB
	cluster string
}

// NewSQLDiscovery returns the rdbms backend for the cluster named cluster.
func NewSQLDiscovery(d *db.DB, cluster string) *SQLDiscovery {
	return &SQLDiscovery{db: d, cluster: cluster}
}

// Refresh lists the cluster's rows, then upserts this node's row and
// deletes rows not refreshed for an hour. The list is read first so that a
// starting node sees the row of a live node with its own name (and
// refuses to start) before its own registration replaces it.
func (s *SQLDiscovery) Refresh(ctx context.Context, self Member) ([]Member, error) {
	rows, err := s.db.SQL.QueryContext(ctx, s.db.Rebind(`SELECT node_name, instance, address FROM cluster_nodes WHERE cluster_name = ? ORDER BY node_name`), s.cluster)
	if err != nil {
		return nil, fmt.Errorf("cluster: discovery: list: %w", err)
	}
	defer rows.Close()
	var out []Member
	listed := false
	for rows.Next() {
		var m Member
		if err := rows.Scan(&m.Name, &m.Instance, &m.Addr); err != nil {
			return nil, fmt.Errorf("cluster: discovery: list: %w", err)
		}
		listed = listed || m == self
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cluster: discovery: list: %w", err)
	}
	if !listed {
		out = append(out, self)
	}
	now := s.db.NowMicros()
	_, err = s.db.SQL.ExecContext(ctx, s.db.Rebind(`INSERT INTO cluster_nodes (cluster_name, node_name, instance, address, updated_at)
		VALUES (?, ?, ?, ?, `+now+`)
		ON CONFLICT (cluster_name, node_name) DO UPDATE SET instance = excluded.instance, address = excluded.address, updated_at = excluded.updated_at`),
		s.cluster, self.Name, self.Instance, self.Addr)
	if err != nil {
		return nil, fmt.Errorf("cluster: discovery: register: %w", err)
	}
	if _, err := s.db.SQL.ExecContext(ctx, s.db.Rebind(`DELETE FROM cluster_nodes WHERE updated_at < `+now+` - ?`),
		discoveryExpiry.Microseconds()); err != nil {
		return nil, fmt.Errorf("cluster: discovery: expire: %w", err)
	}
	return out, nil
}

// Remove deletes the row of node name.
func (s *SQLDiscovery) Remove(ctx context.Context, name string) error {
	_, err := s.db.SQL.ExecContext(ctx, s.db.Rebind(`DELETE FROM cluster_nodes WHERE cluster_name = ? AND node_name = ?`), s.cluster, name)
	if err != nil {
		return fmt.Errorf("cluster: discovery: remove: %w", err)
	}
	return nil
}

// FileDiscovery is the "file" discovery backend: the nodes are the lines
// of a file, re-read at every refresh.
type FileDiscovery struct {
	path string
	port string // this node's own route port, for lines without an address
}

// NewFileDiscovery reads the node list at path; lines without an address
// get the host part of their node name and routePort.
func NewFileDiscovery(path, routePort string) *FileDiscovery {
	return &FileDiscovery{path: path, port: routePort}
}

// Refresh reads the file.
func (f *FileDiscovery) Refresh(_ context.Context, _ Member) ([]Member, error) {
	data, err := os.ReadFile(f.path)
	if err != nil {
		return nil, fmt.Errorf("cluster: discovery: %w", err)
	}
	return parseNodeList(data, f.port)
}

// Remove does nothing: the file is the operator's.
func (f *FileDiscovery) Remove(context.Context, string) error { return nil }

// parseNodeList parses a node list file: one node per line, a name
// optionally followed by whitespace and "host:port"; empty lines and lines
// starting with # are skipped.
func parseNodeList(data []byte, port string) ([]Member, error) {
	var out []Member
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) > 2 {
			return nil, fmt.Errorf("cluster: node list line %d: want \"name [host:port]\", got %q", n, line)
		}
		m := Member{Name: f[0]}
		if len(f) == 2 {
			if _, _, err := net.SplitHostPort(f[1]); err != nil {
				return nil, fmt.Errorf("cluster: node list line %d: %q is not host:port", n, f[1])
			}
			m.Addr = f[1]
		} else if port != "" {
			host := m.Name
			if i := strings.LastIndexByte(host, '@'); i >= 0 {
				host = host[i+1:]
			}
			m.Addr = net.JoinHostPort(host, port)
		}
		if seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		out = append(out, m)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("cluster: node list: %w", err)
	}
	return out, nil
}
