package server_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/mod/last"
	"github.com/gander-xmpp/gander/internal/mod/roster"
	"github.com/gander-xmpp/gander/internal/server/servertest"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const nsLast = "jabber:iq:last"

// forEachLastBackend runs fn on SQLite and PostgreSQL, each with mod_last
// on the rdbms and on the mnesia (in-memory) backend, every time on a
// fresh database. The four runs use the four iqdisc policies, so that each
// is seen to serve the module.
func forEachLastBackend(t *testing.T, fn func(t *testing.T, s *testServer, d *db.DB)) {
	policies := []config.IQDisc{{Type: "one_queue"}, {Type: "no_queue"}, {Type: "queues", Workers: 3}, {Type: "parallel"}}
	i := 0
	for _, driver := range dbtest.Drivers() {
		for _, backend := range []string{"rdbms", "mnesia"} {
			p := policies[i%len(policies)]
			i++
			t.Run(driver+"/"+backend+"/"+p.Type, func(t *testing.T) {
				t.Parallel()
				d := dbtest.Open(t, driver)
				s := startServer(t, d, func(c *config.Config) {
					c.Modules.Last = &config.ModLast{Backend: backend, IQDisc: p}
				})
				fn(t, s, d)
			})
		}
	}
}

// putRosterItem writes a roster item straight into the store, as if the
// subscription handshake had happened.
func putRosterItem(t *testing.T, d *db.DB, user, contact string, sub roster.Subscription) {
	t.Helper()
	require.NoError(t, roster.NewSQLStore(d).PutItem(context.Background(), "localhost", user,
		roster.Item{JID: contact + "@localhost", State: roster.State{Sub: sub}}))
}

func lastGet(id, to string) string {
	return `<iq type='get' id='` + id + `' to='` + to + `'><query xmlns='jabber:iq:last'/></iq>`
}

// requireLastResult checks a last-activity result and returns its seconds.
func requireLastResult(t *testing.T, res *xmlstream.Element, from string) (int64, string) {
	t.Helper()
	require.Equal(t, "result", res.Attr("type"), "%s", res)
	require.Equal(t, from, res.Attr("from"))
	q := res.Child(nsLast, "query")
	require.NotNil(t, q, "%s", res)
	n, err := strconv.ParseInt(q.Attr("seconds"), 10, 64)
	require.NoError(t, err)
	return n, q.Text()
}

// requireIQError checks an error reply: condition, type and legacy code,
// with the original query echoed (in either order, spec/last.md §5).
func requireIQError(t *testing.T, res *xmlstream.Element, from, cond, typ, code string) {
	t.Helper()
	require.Equal(t, "error", res.Attr("type"), "%s", res)
	require.Equal(t, from, res.Attr("from"))
	e := res.Child("", "error")
	require.NotNil(t, e, "%s", res)
	require.Equal(t, typ, e.Attr("type"), "%s", res)
	require.Equal(t, code, e.Attr("code"), "%s", res)
	require.NotNil(t, e.Child("urn:ietf:params:xml:ns:xmpp-stanzas", cond), "%s", res)
	require.NotNil(t, res.Child(nsLast, "query"), "query echoed: %s", res)
}

func TestLastActivityQueries(t *testing.T) {
	t.Parallel()
	forEachLastBackend(t, func(t *testing.T, s *testServer, d *db.DB) {
		s.register(t, "alice", "bob", "carol", "dave", "eve", "gina")
		// Bob's roster decides who may ask about Bob (§5.2): alice both,
		// eve from (allowed); dave to, carol none (forbidden).
		putRosterItem(t, d, "bob", "alice", roster.SubBoth)
		putRosterItem(t, d, "alice", "bob", roster.SubBoth)
		putRosterItem(t, d, "bob", "eve", roster.SubFrom)
		putRosterItem(t, d, "bob", "dave", roster.SubTo)
		putRosterItem(t, d, "gina", "alice", roster.SubBoth)

		alice := s.login(t, "alice", "a")
		bob := s.login(t, "bob", "b")
		carol := s.login(t, "carol", "c")
		dave := s.login(t, "dave", "d")
		eve := s.login(t, "eve", "e")
		alice.send(`<presence/>`)
		bob.send(`<presence/>`)
		bob.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" && el.Attr("from") == bob.jid })

		// §5.1: the server's uptime, > 0 once a second has passed.
		wait.Until(t, 5*time.Second, func() error {
			n, text := requireLastResult(t, alice.sendIQ(lastGet("s1", "localhost")), "localhost")
			require.Empty(t, text)
			if n <= 0 {
				return fmt.Errorf("uptime %d", n)
			}
			return nil
		})
		requireIQError(t, alice.sendIQ(`<iq type='set' id='s2' to='localhost'><query xmlns='jabber:iq:last'/></iq>`),
			"localhost", "not-allowed", "cancel", "405")

		// §5.2: bare JID, online → 0, whatever the requester's allowed reason.
		n, text := requireLastResult(t, alice.sendIQ(lastGet("b1", "bob@localhost")), "bob@localhost")
		require.Equal(t, int64(0), n)
		require.Empty(t, text)
		n, _ = requireLastResult(t, eve.sendIQ(lastGet("b2", "bob@localhost")), "bob@localhost")
		require.Equal(t, int64(0), n)
		self := alice.sendIQ(lastGet("b3", "alice@localhost"))
		// The client library drops a from equal to its own bare JID.
		self.SetAttr("from", "alice@localhost")
		n, _ = requireLastResult(t, self, "alice@localhost")
		require.Equal(t, int64(0), n, "asking about yourself")
		requireIQError(t, carol.sendIQ(lastGet("b4", "bob@localhost")), "bob@localhost", "forbidden", "auth", "403")
		requireIQError(t, dave.sendIQ(lastGet("b5", "bob@localhost")), "bob@localhost", "forbidden", "auth", "403")
		requireIQError(t, carol.sendIQ(lastGet("b6", "nobody@localhost")), "nobody@localhost", "forbidden", "auth", "403")
		requireIQError(t, alice.sendIQ(`<iq type='set' id='b7' to='bob@localhost'><query xmlns='jabber:iq:last'/></iq>`),
			"bob@localhost", "not-allowed", "cancel", "405")
		// Offline, allowed, no record: service-unavailable.
		requireIQError(t, alice.sendIQ(lastGet("b8", "gina@localhost")), "gina@localhost", "service-unavailable", "cancel", "503")

		// §5.3: full JID. A friend's query reaches Bob's client, whose
		// answer reaches Alice.
		alice.send(lastGet("f1", bob.jid))
		q := bob.expect("forwarded query", func(el *xmlstream.Element) bool {
			return el.Local == "iq" && el.Attr("id") == "f1" && el.Child(nsLast, "query") != nil
		})
		require.Equal(t, alice.jid, q.Attr("from"))
		bob.send(`<iq type='result' id='f1' to='` + alice.jid + `'><query xmlns='jabber:iq:last' seconds='0'/></iq>`)
		// (The client library also answers the unknown IQ with an error of
		// its own; the test's answer is the result.)
		res := alice.expect("bob's answer", func(el *xmlstream.Element) bool {
			return el.Local == "iq" && el.Attr("id") == "f1" && el.Attr("type") == "result"
		})
		n, _ = requireLastResult(t, res, bob.jid)
		require.Equal(t, int64(0), n)
		// A stranger's query is refused by the server, from the full JID,
		// and never reaches Bob.
		requireIQError(t, carol.sendIQ(lastGet("f2", bob.jid)), bob.jid, "forbidden", "auth", "403")
		requireIQError(t, dave.sendIQ(lastGet("f3", bob.jid)), bob.jid, "forbidden", "auth", "403")
		carol.barrier("localhost") // the routing of the queries is over
		dave.barrier("localhost")
		bob.expectNone("refused query", func(el *xmlstream.Element) bool {
			return el.Local == "iq" && (el.Attr("id") == "f2" || el.Attr("id") == "f3")
		})
		// A set to a full JID is not intercepted.
		carol.send(`<iq type='set' id='f4' to='` + bob.jid + `'><query xmlns='jabber:iq:last'/></iq>`)
		bob.expect("set delivered", func(el *xmlstream.Element) bool { return el.Local == "iq" && el.Attr("id") == "f4" })
		// Resource not online: the router's Route offline.
		res = alice.sendIQ(lastGet("f5", "bob@localhost/nowhere"))
		require.Equal(t, "error", res.Attr("type"))
		require.NotNil(t, res.Child("", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable"))
		require.Equal(t, "Route offline", res.Child("", "error").ChildText("urn:ietf:params:xml:ns:xmpp-stanzas", "text"))

		// §4.1 and §8.1: Bob goes unavailable with a status and
		// disconnects; the status survives the disconnect.
		bob.send(`<presence type='unavailable'><status>I am a banana!</status></presence>`)
		alice.expect("bob unavailable", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.Attr("from") == bob.jid && el.Attr("type") == "unavailable"
		})
		bob.sess.Close()
		wait.Until(t, 5*time.Second, func() error {
			res := alice.sendIQ(lastGet("o1", "bob@localhost"))
			if res.Attr("type") != "result" {
				return fmt.Errorf("got %s", res)
			}
			n, text := requireLastResult(t, res, "bob@localhost")
			if n < 1 { // still online (0), or stored less than a second ago
				return fmt.Errorf("seconds %d", n)
			}
			require.Equal(t, "I am a banana!", text)
			return nil
		})

		// Disco advertises the namespace on the domain.
		info := alice.sendIQ(`<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		var feats []string
		for _, f := range info.Child("", "query").Elements() {
			feats = append(feats, f.Attr("var"))
		}
		require.Contains(t, feats, nsLast)
	})
}

// TestLastActivityCloseStatus checks the status stored when a session
// ends while available (spec/last.md §4.1 table).
func TestLastActivityCloseStatus(t *testing.T) {
	t.Parallel()
	forEachLastBackend(t, func(t *testing.T, s *testServer, d *db.DB) {
		s.register(t, "bob", "rita")
		ctx := context.Background()
		waitStatus := func(user, want string) {
			wait.Until(t, 5*time.Second, func() error {
				a, err := s.Last().GetLast(ctx, user+"@localhost")
				if err != nil {
					return err
				}
				if a.Status != want {
					return fmt.Errorf("status %q, want %q", a.Status, want)
				}
				return nil
			})
		}
		bob := s.login(t, "bob", "b")
		bob.send(`<presence><status>busy</status></presence>`)
		bob.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
		require.NoError(t, bob.sess.Close()) // </stream:stream>
		waitStatus("bob", "Shutdown by reason: stream_end")

		// A session replaced by a new one on the same resource.
		_, err := s.Last().SetLast(ctx, "rita@localhost", time.Unix(1000, 0), "marker")
		require.NoError(t, err)
		r := s.loginRaw(t, "rita", "rita@localhost/one")
		r.write(`<presence/>`)
		readUntil(t, r.nc, r.nc.SetReadDeadline, "<presence")
		s.loginRaw(t, "rita", "rita@localhost/one") // replaces the first
		waitStatus("rita", "Replaced by new connection")
	})
}

// TestLastActivityModuleNotLoaded is spec/last.md §5.4.
func TestLastActivityModuleNotLoaded(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, func(c *config.Config) { c.Modules.Last = nil })
		s.register(t, "alice", "bob")
		alice := s.login(t, "alice", "a")
		bob := s.login(t, "bob", "b")
		for _, to := range []string{"bob@localhost", "localhost"} {
			res := alice.sendIQ(lastGet("n1", to))
			e := res.Child("", "error")
			require.NotNil(t, e, "%s", res)
			require.NotNil(t, e.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable"))
			require.Equal(t, "Unknown xmlns=jabber:iq:last for host=localhost", e.ChildText("urn:ietf:params:xml:ns:xmpp-stanzas", "text"))
		}
		alice.send(lastGet("n2", bob.jid))
		bob.expect("query delivered", func(el *xmlstream.Element) bool { return el.Local == "iq" && el.Attr("id") == "n2" })
	})
}

// TestLastActivityDisconnectMany disconnects a few hundred real clients at
// once and checks every stored record and that writes were batched.
func TestLastActivityDisconnectMany(t *testing.T) {
	// Heavy: not parallel, see servertest.Heavy.
	const n = 200
	for _, driver := range dbtest.Drivers() {
		t.Run(driver, func(t *testing.T) {
			t.Parallel()
			servertest.Heavy(t)
			d := dbtest.Open(t, driver)
			s := startServer(t, d, func(c *config.Config) {
				c.Modules.Last = &config.ModLast{Backend: "rdbms", IQDisc: config.IQDisc{Type: "one_queue"}}
			})
			clients := make([]*client, n)
			var wg sync.WaitGroup
			sem := make(chan struct{}, 8)
			for i := range n {
				u := fmt.Sprintf("u%03d", i)
				s.register(t, u)
				wg.Add(1)
				sem <- struct{}{}
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					c, err := s.dial(t, u, dialOpts{mech: sasl.Plain})
					if err == nil {
						clients[i] = c
					}
				}()
			}
			wg.Wait()
			for i, c := range clients {
				require.NotNil(t, c, "client %d", i)
				c.send(fmt.Sprintf(`<presence><status>s%d</status></presence>`, i))
			}
			for _, c := range clients {
				c.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
			}
			before := time.Now().Unix()
			for _, c := range clients {
				c.sess.Conn().Close() // socket gone, no stream end
			}
			ctx := context.Background()
			wait.Until(t, 20*time.Second, func() error {
				for i := range n {
					a, err := s.Last().GetLast(ctx, fmt.Sprintf("u%03d@localhost", i))
					if err != nil {
						return err
					}
					if a.Status != "Shutdown by reason: socket_error" || a.Timestamp.Unix() < before {
						return fmt.Errorf("u%03d: %+v", i, a)
					}
				}
				return nil
			})
			require.NoError(t, s.Last().Sync(ctx))
			events := metricSum(t, s, "mod_last_rdbms_count", "function", "set_last_info")
			statements := metricSum(t, s, "mod_last_rdbms_write_statements_count", "", "")
			t.Logf("%d disconnects: %v set_last_info calls, %v write statements", n, events, statements)
			require.Equal(t, float64(n), events)
			require.Less(t, statements, events, "writes were batched")
		})
	}
}

// metricSum sums the samples of a counter or gauge, optionally only those
// with label = value.
func metricSum(t *testing.T, s *testServer, name, label, value string) float64 {
	t.Helper()
	mfs, err := s.Metrics().Prometheus().Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			ok := label == ""
			for _, l := range m.GetLabel() {
				ok = ok || (l.GetName() == label && l.GetValue() == value)
			}
			if ok {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

// TestLastActivitySurvivesCleanStop stops the server while users are
// online: their sessions end with system_shutdown and every write queued
// on the way is in the database after Stop returns.
func TestLastActivitySurvivesCleanStop(t *testing.T) {
	t.Parallel()
	const n = 25
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, func(c *config.Config) {
			c.Modules.Last = &config.ModLast{Backend: "rdbms", IQDisc: config.IQDisc{Type: "one_queue"}}
		})
		var clients []*client
		for i := range n {
			u := fmt.Sprintf("s%02d", i)
			s.register(t, u)
			c, err := s.dial(t, u, dialOpts{mech: sasl.Plain})
			require.NoError(t, err)
			c.send(`<presence/>`)
			clients = append(clients, c)
		}
		for _, c := range clients {
			c.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, s.Stop(ctx))
		store := last.NewSQLStore(d)
		for i := range n {
			r, ok, err := store.Get(context.Background(), last.Key{Server: "localhost", Username: fmt.Sprintf("s%02d", i)})
			require.NoError(t, err)
			require.True(t, ok, "s%02d", i)
			require.Equal(t, "Shutdown by reason: system_shutdown", r.Status)
		}
	})
}
