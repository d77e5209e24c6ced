package server_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/sasl"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func TestLoginMechanismsAndChat(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, nil)
		s.register(t, "alice", "bob")
		for _, mech := range []sasl.Mechanism{sasl.ScramSha256, sasl.ScramSha1, sasl.Plain} {
			c, err := s.dial(t, "alice", dialOpts{mech: mech, resource: "m" + mech.Name})
			require.NoError(t, err, mech.Name)
			require.Equal(t, "alice@localhost", c.sess.LocalAddr().Bare().String())
			require.True(t, c.sess.ConnectionState().HandshakeComplete, "TLS negotiated")
		}

		alice := s.login(t, "alice", "phone")
		bob := s.login(t, "bob", "laptop")
		alice.send(`<presence/>`)
		bob.send(`<presence/>`)
		alice.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })
		bob.expect("own presence", func(el *xmlstream.Element) bool { return el.Local == "presence" })

		alice.send(`<message to='bob@localhost' type='chat' id='m1'><body>hello bob</body></message>`)
		m := bob.expect("alice's message", isMessage("hello bob"))
		require.Equal(t, alice.jid, m.Attr("from"))
		require.Equal(t, "chat", m.Attr("type"))

		bob.send(`<message to='` + alice.jid + `' type='chat'><body>hi alice &amp; co</body></message>`)
		m = alice.expect("bob's reply", isMessage("hi alice & co"))
		require.Equal(t, bob.jid, m.Attr("from"))
	})
}

func TestTwoResourcesOfOneUser(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, nil)
		s.register(t, "alice", "bob")
		a1 := s.login(t, "alice", "one")
		a2 := s.login(t, "alice", "two")
		bob := s.login(t, "bob", "b")
		a1.send(`<presence/>`)
		a2.send(`<presence><priority>5</priority></presence>`)
		// Each resource learns of the other's presence (RFC 6121 §4.2.2).
		a1.expect("presence of two", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.Attr("from") == a2.jid
		})

		// A full JID reaches exactly that resource.
		bob.send(`<message to='` + a1.jid + `' type='chat'><body>to one</body></message>`)
		a1.expect("message to one", isMessage("to one"))

		// A bare JID chat goes to the highest priority resource.
		bob.send(`<message to='alice@localhost' type='chat'><body>to bare</body></message>`)
		a2.expect("message to bare", isMessage("to bare"))
		bob.barrier("localhost") // the routing of "to bare" is over
		a1.expectNone("bare message on lower priority", isMessage("to bare"))

		// The two resources talk to each other.
		a1.send(`<message to='` + a2.jid + `' type='chat'><body>self</body></message>`)
		m := a2.expect("self message", isMessage("self"))
		require.Equal(t, a1.jid, m.Attr("from"))

		// A second session on the same resource replaces the first.
		a1b := s.loginRaw(t, "alice", a1.jid)
		select {
		case <-a1.done:
		case <-time.After(5 * time.Second):
			t.Fatal("replaced session was not closed")
		}
		a1b.write(`<presence/>`)
		readUntil(t, a1b.nc, a1b.nc.SetReadDeadline, "</presence>")
		bob.send(`<message to='` + a1.jid + `' type='chat'><body>new one</body></message>`)
		readUntil(t, a1b.nc, a1b.nc.SetReadDeadline, "new one</body>")
	})
}

func isRosterPush(contact, sub string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		if el.Local != "iq" || el.Attr("type") != "set" {
			return false
		}
		q := el.Child("jabber:iq:roster", "query")
		if q == nil {
			return false
		}
		it := q.Child("jabber:iq:roster", "item")
		return it != nil && it.Attr("jid") == contact && it.Attr("subscription") == sub
	}
}

func TestSubscriptionHandshakeAndRosterPushes(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, nil)
		s.register(t, "alice", "bob")
		alice := s.login(t, "alice", "a")
		bob := s.login(t, "bob", "b")
		alice.send(`<presence/>`)
		bob.send(`<presence/>`)

		res := alice.sendIQ(`<iq type='set' id='r1'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' name='Bob'><group>Friends</group></item></query></iq>`)
		require.Equal(t, "result", res.Attr("type"))
		alice.expect("roster push none", isRosterPush("bob@localhost", "none"))

		alice.send(`<presence to='bob@localhost' type='subscribe'/>`)
		alice.expect("push ask=subscribe", func(el *xmlstream.Element) bool {
			return isRosterPush("bob@localhost", "none")(el) && el.Child("", "query").Child("", "item").Attr("ask") == "subscribe"
		})
		req := bob.expect("subscription request", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.Attr("type") == "subscribe"
		})
		require.Equal(t, "alice@localhost", req.Attr("from"))

		bob.send(`<presence to='alice@localhost' type='subscribed'/>`)
		bob.expect("bob's push from", isRosterPush("alice@localhost", "from"))
		alice.expect("alice's push to", isRosterPush("bob@localhost", "to"))
		// Approval makes bob's current presence flow to alice (§3.1.5).
		alice.expect("bob's presence", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.Attr("from") == bob.jid && el.Attr("type") == ""
		})

		roster := alice.sendIQ(`<iq type='get' id='r2'><query xmlns='jabber:iq:roster'/></iq>`)
		item := roster.Child("jabber:iq:roster", "query").Child("jabber:iq:roster", "item")
		require.NotNil(t, item)
		require.Equal(t, "bob@localhost", item.Attr("jid"))
		require.Equal(t, "to", item.Attr("subscription"))
		require.Equal(t, "Bob", item.Attr("name"))
		require.Equal(t, "Friends", item.ChildText("", "group"))

		// Bob's presence changes now reach alice; alice's do not reach bob.
		bob.send(`<presence><show>away</show></presence>`)
		alice.expect("away presence", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.ChildText("", "show") == "away"
		})

		// Removing the item cancels the subscription both ways.
		res = alice.sendIQ(`<iq type='set' id='r3'><query xmlns='jabber:iq:roster'><item jid='bob@localhost' subscription='remove'/></query></iq>`)
		require.Equal(t, "result", res.Attr("type"))
		alice.expect("push remove", isRosterPush("bob@localhost", "remove"))
		bob.expect("bob's push none", isRosterPush("alice@localhost", "none"))
	})
}

func TestOfflineMessages(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, nil)
		s.register(t, "alice", "bob")
		alice := s.login(t, "alice", "a")
		alice.send(`<message to='bob@localhost' type='chat' id='o1'><body>first</body></message>`)
		alice.send(`<message to='bob@localhost/gone' type='chat' id='o2'><body>second</body></message>`)
		// Wait until both are stored before bob comes online.
		waitOffline(t, d, "bob", 2)

		bob := s.login(t, "bob", "b")
		bob.send(`<presence/>`)
		m1 := bob.expect("first offline message", isMessage("first"))
		require.Equal(t, alice.jid, m1.Attr("from"))
		delay := m1.Child("urn:xmpp:delay", "delay")
		require.NotNil(t, delay, "offline message carries a delay stamp")
		require.NotEmpty(t, delay.Attr("stamp"))
		bob.expect("second offline message", isMessage("second"))

		// Delivered messages are gone from storage.
		waitOffline(t, d, "bob", 0)

		// A message to an unknown user is refused.
		alice.send(`<message to='nobody@localhost' type='chat' id='x1'><body>?</body></message>`)
		e := alice.expect("error for unknown user", func(el *xmlstream.Element) bool {
			return el.Local == "message" && el.Attr("type") == "error" && el.Attr("id") == "x1"
		})
		require.NotNil(t, e.Child("", "error").Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable"))
	})
}

func TestServerIQs(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		s := startServer(t, d, nil)
		s.register(t, "alice")
		alice := s.login(t, "alice", "a")

		require.Equal(t, "result", alice.sendIQ(`<iq type='get' id='p1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`).Attr("type"))

		info := alice.sendIQ(`<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		var feats []string
		for _, f := range info.Child("", "query").Elements() {
			if f.Local == "feature" {
				feats = append(feats, f.Attr("var"))
			}
		}
		require.Subset(t, feats, []string{"urn:xmpp:ping", "jabber:iq:version", "msgoffline", "http://jabber.org/protocol/disco#info"})

		v := alice.sendIQ(`<iq type='get' id='v1' to='localhost'><query xmlns='jabber:iq:version'/></iq>`)
		require.Equal(t, "Gander", v.Child("", "query").ChildText("", "name"))

		u := alice.sendIQ(`<iq type='get' id='u1' to='localhost'><query xmlns='urn:unknown'/></iq>`)
		require.Equal(t, "error", u.Attr("type"))
		e := u.Child("", "error")
		require.Equal(t, "cancel", e.Attr("type"))
		require.NotNil(t, e.Child("urn:ietf:params:xml:ns:xmpp-stanzas", "service-unavailable"))
		require.Equal(t, "Unknown xmlns=urn:unknown for host=localhost", e.ChildText("urn:ietf:params:xml:ns:xmpp-stanzas", "text"))

		off := alice.sendIQ(`<iq type='get' id='f1' to='alice@localhost/offline'><query xmlns='jabber:iq:version'/></iq>`)
		require.Equal(t, "error", off.Attr("type"))
		require.Equal(t, "Route offline", off.Child("", "error").ChildText("", "text"))
	})
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, func(c *config.Config) { c.Listen.C2S[0].MaxStanzaSize = 4096 })
	s.register(t, "alice")
	cases := []struct {
		name, send, want string
	}{
		{"malformed XML", streamOpen + `<message><body></message>`, "not-well-formed"},
		{"comment", streamOpen + `<!-- no -->`, "restricted-xml"},
		{"oversized stanza", streamOpen + `<message><body>` + strings.Repeat("x", 5000) + `</body></message>`, "policy-violation"},
		{"flood of bytes", streamOpen + strings.Repeat("<a>", 3000), "policy-violation"},
		{"stanza before auth", streamOpen + `<message to='alice@localhost'><body>x</body></message>`, "not-authorized"},
		{"unknown host", strings.Replace(streamOpen, "to='localhost'", "to='example.org'", 1), "host-unknown"},
		{"wrong namespace", strings.Replace(streamOpen, "jabber:client", "jabber:server", 1), "invalid-namespace"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.raw(t)
			r.write(c.send)
			got := r.readUntilClosed()
			require.Contains(t, got, "<stream:error><"+c.want+" xmlns=\"urn:ietf:params:xml:ns:xmpp-streams\"", got)
			require.True(t, strings.HasSuffix(got, "</stream:stream>"), got)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		_, err := s.dial(t, "alice", dialOpts{password: "wrong"})
		require.Error(t, err)
		require.Contains(t, err.Error(), "not-authorized")
	})
	t.Run("plain refused without TLS", func(t *testing.T) {
		_, err := s.dial(t, "alice", dialOpts{mech: sasl.Plain, noTLS: true})
		require.Error(t, err)
	})
	// The server still serves everyone else.
	c := s.login(t, "alice", "still")
	require.Equal(t, "result", c.sendIQ(`<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`).Attr("type"))
}

func TestWhitespaceKeepaliveAndCleanShutdown(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, nil)
	s.register(t, "alice")
	r := s.loginRaw(t, "alice", "alice@localhost/keep")
	// Whitespace between stanzas is a keepalive (RFC 6120 §4.6.1).
	r.write("  \n ")
	r.write(`<iq type='get' id='k1' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`)
	readUntil(t, r.nc, r.nc.SetReadDeadline, "id=\"k1\"")

	// Stopping the server closes every stream with system-shutdown.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, s.Stop(ctx))
	got := r.readUntilClosed()
	require.Contains(t, got, `<stream:error><system-shutdown xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></stream:error>`)
	require.True(t, strings.HasSuffix(got, "</stream:stream>"), got)
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	s := startServer(t, nil, func(c *config.Config) { c.Listen.C2S[0].MaxConnections = 1 })
	s.register(t, "alice")
	first := s.login(t, "alice", "first")

	// The listener is full: a second connection is told why and closed.
	r := s.raw(t)
	got := r.readUntilClosed()
	require.Contains(t, got, `<stream:error><resource-constraint xmlns="urn:ietf:params:xml:ns:xmpp-streams"`, got)
	require.True(t, strings.HasSuffix(got, "</stream:stream>"), got)
	require.Equal(t, "result", first.sendIQ(`<iq type='get' id='p' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>`).Attr("type"))

	// Once the first connection is gone, a new one gets in.
	first.sess.Close()
	first.sess.Conn().Close()
	wait.Until(t, 10*time.Second, func() error {
		c, err := s.dial(t, "alice", dialOpts{})
		if err != nil {
			return err
		}
		c.sess.Close()
		c.sess.Conn().Close()
		return nil
	})
}

// waitOffline waits until user@localhost has n messages in offline storage.
func waitOffline(t *testing.T, d *db.DB, user string, n int) {
	t.Helper()
	wait.Until(t, 5*time.Second, func() error {
		var got int
		if err := d.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM offline_message WHERE server = ? AND username = ?`, "localhost", user).Scan(&got); err != nil {
			return err
		}
		if got != n {
			return fmt.Errorf("%d offline messages for %s, want %d", got, user, n)
		}
		return nil
	})
}
