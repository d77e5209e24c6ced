package server_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// scrape fetches /metrics and parses it with the Prometheus text parser.
func scrape(t *testing.T, c *apiClient) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(c.url, "/api/graphql") + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	require.NoError(t, err)
	return fams
}

// value returns the value of the sample of family name whose labels
// include want; counters, gauges and histogram counts.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want ...string) float64 {
	t.Helper()
	f, ok := fams[name]
	require.True(t, ok, "no metric %s", name)
	// spec/server.md §4: help = "Event: <event>, Metric: <metric>" and
	// name = <event>_<metric>.
	ev, metric, ok := strings.Cut(strings.TrimPrefix(f.GetHelp(), "Event: "), ", Metric: ")
	require.True(t, ok, f.GetHelp())
	require.Equal(t, name, ev+"_"+metric)
next:
	for _, m := range f.Metric {
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(want); i += 2 {
			if got[want[i]] != want[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	t.Fatalf("no sample of %s with labels %v", name, want)
	return 0
}

func TestMetricsMove(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		srv, c := startAPI(t, d, nil)
		srv.register(t, "alice", "bob")
		before := scrape(t, c)
		// Counters exist with 0 before anything happened (spec/server.md §4).
		require.Equal(t, 0.0, value(t, before, "sm_session_logins_count", "host_type", "localhost"))
		require.Equal(t, 0.0, value(t, before, "c2s_auth_failed_count", "mechanism", "SCRAM-SHA-256"))
		require.Equal(t, 0.0, value(t, before, "router_routed_count", "type", "message"))
		require.Equal(t, 0.0, value(t, before, "mod_offline_stored_count"))
		require.Equal(t, 0.0, value(t, before, "c2s_xml_parse_error_count"))
		require.Equal(t, fams(before, "sm_session_logins_count").GetType(), dto.MetricType_COUNTER)
		require.Equal(t, fams(before, "c2s_connections_count").GetType(), dto.MetricType_GAUGE)
		require.Equal(t, fams(before, "rdbms_query_time").GetType(), dto.MetricType_HISTOGRAM)
		dbCalls := value(t, before, "rdbms_query_count", "function", "exec")

		alice := srv.login(t, "alice", "a")
		_, err := srv.dial(t, "bob", dialOpts{password: "wrong"})
		require.Error(t, err)
		alice.send(`<presence/>`)
		// bob is offline: the message is stored.
		alice.send(`<message to='bob@localhost' type='chat'><body>one</body></message>`)
		// An error reply: nobody at that address.
		alice.send(`<message to='nobody@localhost' type='chat'><body>two</body></message>`)
		alice.expect("error", func(el *xmlstream.Element) bool { return el.Attr("type") == "error" })
		bob := srv.login(t, "bob", "b")
		bob.send(`<presence/>`)
		bob.expect("offline message", isMessage("one"))

		waitMetric(t, c, 1, "mod_offline_delivered_count")
		after := scrape(t, c)
		require.Equal(t, 2.0, value(t, after, "sm_session_logins_count", "host_type", "localhost"))
		require.Equal(t, 2.0, value(t, after, "c2s_auth_success_count", "mechanism", "SCRAM-SHA-256"))
		require.Equal(t, 1.0, value(t, after, "c2s_auth_failed_count", "mechanism", "SCRAM-SHA-256"))
		require.Equal(t, 2.0, value(t, after, "sm_node_sessions_count"))
		require.GreaterOrEqual(t, value(t, after, "c2s_connections_count"), 2.0)
		require.GreaterOrEqual(t, value(t, after, "router_routed_count", "type", "message"), 2.0)
		require.GreaterOrEqual(t, value(t, after, "router_routed_count", "type", "presence"), 1.0)
		require.Equal(t, 1.0, value(t, after, "router_stanza_error_count", "condition", "service-unavailable"))
		require.Equal(t, 1.0, value(t, after, "mod_offline_stored_count"))
		require.Greater(t, value(t, after, "rdbms_query_count", "function", "exec"), dbCalls)
		require.Greater(t, value(t, after, "rdbms_query_time", "function", "exec"), 0.0)

		// The API requests of this test: 200s, and one 401.
		require.Equal(t, 0.0, value(t, after, "graphql_request_count", "endpoint", "admin", "status", "200"))
		c.ok(qCount, map[string]any{"domain": "localhost"}, "account", "countUsers")
		srv.client(t, 0, "admin", "wrong").do(`{ checkAuth { authStatus } }`, nil)
		api := scrape(t, c)
		require.Equal(t, 1.0, value(t, api, "graphql_request_count", "endpoint", "admin", "status", "200"))
		require.Equal(t, 1.0, value(t, api, "graphql_request_count", "endpoint", "admin", "status", "401"))
		require.Equal(t, 2.0, value(t, api, "graphql_request_time", "endpoint", "admin"))

		// Bad XML is counted and ends the stream.
		r := srv.raw(t)
		r.write(streamOpen + `<message><!-- no --></message>`)
		r.readUntilClosed()
		waitMetric(t, c, 1, "c2s_xml_parse_error_count")
		bob.sess.Close()
		waitMetric(t, c, 1, "sm_session_logouts_count", "host_type", "localhost")
	})
}

// waitMetric waits until the scraped metric name (with the label pairs)
// has the value want.
func waitMetric(t *testing.T, c *apiClient, want float64, name string, labels ...string) {
	t.Helper()
	wait.Until(t, 15*time.Second, func() error {
		if got := value(t, scrape(t, c), name, labels...); got != want {
			return fmt.Errorf("%s %v = %v, want %v", name, labels, got, want)
		}
		return nil
	})
}

func fams(f map[string]*dto.MetricFamily, name string) *dto.MetricFamily { return f[name] }
