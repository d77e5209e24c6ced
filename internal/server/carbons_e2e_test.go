package server_test

// End-to-end tests of mod_carboncopy (XEP-0280 Message Carbons) with the
// mellium client: two resources per user, carbons enabled with raw IQs.

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const (
	nsCarbons = "urn:xmpp:carbons:2"
	nsForward = "urn:xmpp:forward:0"
)

// enableCarbons sends <enable/> (or <disable/>) and requires a result.
func enableCarbons(t *testing.T, c *client, on bool) {
	t.Helper()
	op := "enable"
	if !on {
		op = "disable"
	}
	resp := c.sendIQ(`<iq type='set' id='cc-` + op + `'><` + op + ` xmlns='` + nsCarbons + `'/></iq>`)
	require.Equal(t, "result", resp.Attr("type"), resp.String())
}

// carbonOf returns the forwarded message of a carbon of the given kind
// ("sent" or "received"), or nil.
func carbonOf(el *xmlstream.Element, kind string) *xmlstream.Element {
	if el.Local != "message" {
		return nil
	}
	k := el.Child(nsCarbons, kind)
	if k == nil {
		return nil
	}
	fw := k.Child(nsForward, "forwarded")
	if fw == nil {
		return nil
	}
	return fw.Child("jabber:client", "message")
}

func isCarbon(kind, body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		m := carbonOf(el, kind)
		return m != nil && m.ChildText("", "body") == body
	}
}

// carrying matches the original or any carbon of a message with body.
func carrying(body string) func(*xmlstream.Element) bool {
	return func(el *xmlstream.Element) bool {
		return isMessage(body)(el) || isCarbon("sent", body)(el) || isCarbon("received", body)(el)
	}
}

// sentinel sends c a direct message from s and waits for it: whatever was
// queued for c before has then arrived (one session's stanzas keep their
// order), so a following expectNone is a real check.
func sentinel(t *testing.T, from, c *client, body string) {
	t.Helper()
	from.send(fmt.Sprintf(`<message to='%s' type='chat'><body>%s</body></message>`, c.jid, body))
	c.expect("sentinel "+body, isMessage(body))
}

// carbonsEnv has alice and bob online with two resources each.
type carbonsEnv struct {
	s              *testServer
	a1, a2, b1, b2 *client
}

func startCarbons(t *testing.T, d *db.DB) *carbonsEnv {
	t.Helper()
	s := startServer(t, d, nil)
	s.register(t, "alice", "bob")
	return &carbonsEnv{s: s, a1: online(t, s, "alice"), a2: online(t, s, "alice"), b1: online(t, s, "bob"), b2: online(t, s, "bob")}
}

func (e *carbonsEnv) all() []*client { return []*client{e.a1, e.a2, e.b1, e.b2} }

func TestCarbons_EnableDisable(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		// XEP-0280 §3: the server announces the feature.
		info := e.a1.sendIQ(`<iq type='get' id='d1' to='localhost'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>`)
		require.Contains(t, info.String(), `var="`+nsCarbons+`"`)

		resp := e.a1.sendIQ(`<iq type='set' id='e1'><enable xmlns='` + nsCarbons + `'/></iq>`)
		require.Equal(t, "result", resp.Attr("type"))
		requireOwnBare(t, "alice@localhost", resp.Attr("from"))
		a1 := jid.MustParse(e.a1.jid)
		require.True(t, e.s.Carbons().Enabled(a1))
		// §10.1: repeated requests succeed.
		enableCarbons(t, e.a1, true)
		require.Equal(t, 1.0, metricSum(t, e.s, "mod_carboncopy_enabled_sessions_count", "", ""))
		enableCarbons(t, e.a1, false)
		require.False(t, e.s.Carbons().Enabled(a1))
		enableCarbons(t, e.a1, false)
		require.Equal(t, 0.0, metricSum(t, e.s, "mod_carboncopy_enabled_sessions_count", "", ""))

		for _, tc := range []struct{ name, iq, cond string }{
			{"get", `<iq type='get' id='x1'><enable xmlns='` + nsCarbons + `'/></iq>`, "bad-request"},
			{"unknown element", `<iq type='set' id='x2'><private xmlns='` + nsCarbons + `'/></iq>`, "bad-request"},
			// §4.1: a client may not change another user's carbons.
			{"other user", `<iq type='set' id='x3' to='bob@localhost'><enable xmlns='` + nsCarbons + `'/></iq>`, "not-allowed"},
			// The handler serves users' bare JIDs (the XEP's IQ has no
			// 'to'), as MongooseIM's: the server domain does not answer.
			{"server domain", `<iq type='set' id='x4' to='localhost'><enable xmlns='` + nsCarbons + `'/></iq>`, "service-unavailable"},
		} {
			resp := e.a1.sendIQ(tc.iq)
			require.Equal(t, "error", resp.Attr("type"), tc.name)
			require.Equal(t, tc.cond, errorCondition(resp), tc.name)
		}
		require.False(t, e.s.Carbons().Enabled(a1))
		require.False(t, e.s.Carbons().Enabled(jid.MustParse(e.b1.jid)))
	})
}

func TestCarbons_SentAndReceived(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		for _, c := range e.all() {
			enableCarbons(t, c, true)
		}
		// Alice/1 writes to Bob/1: Bob/2 gets <received/>, Alice/2 <sent/>.
		e.a1.send(fmt.Sprintf(`<message to='%s' type='chat' id='m1'><body>to b1</body><thread>t1</thread></message>`, e.b1.jid))
		orig := e.b1.expect("original", isMessage("to b1"))
		require.Equal(t, e.a1.jid, orig.Attr("from"))

		rc := e.b2.expect("received carbon", isCarbon("received", "to b1"))
		requireOwnBare(t, "bob@localhost", rc.Attr("from"))
		require.Equal(t, e.b2.jid, rc.Attr("to"))
		require.Equal(t, "chat", rc.Attr("type"))
		inner := carbonOf(rc, "received")
		require.Equal(t, e.a1.jid, inner.Attr("from"))
		require.Equal(t, e.b1.jid, inner.Attr("to"))
		require.Equal(t, "t1", inner.ChildText("", "thread"))
		require.Equal(t, "m1", inner.Attr("id"))

		sc := e.a2.expect("sent carbon", isCarbon("sent", "to b1"))
		requireOwnBare(t, "alice@localhost", sc.Attr("from"))
		require.Equal(t, e.a2.jid, sc.Attr("to"))
		inner = carbonOf(sc, "sent")
		require.Equal(t, e.a1.jid, inner.Attr("from"))
		require.Equal(t, e.b1.jid, inner.Attr("to"))

		// Normal messages with a body are copied too (XEP-0280 §6).
		e.b2.send(fmt.Sprintf(`<message to='%s'><body>normal</body></message>`, e.a2.jid))
		e.a2.expect("original", isMessage("normal"))
		e.a1.expect("received carbon", isCarbon("received", "normal"))
		e.b1.expect("sent carbon", isCarbon("sent", "normal"))

		// Nobody gets a second copy: the sender no carbon of its own
		// message, the recipient no carbon of what it got.
		sentinel(t, e.b1, e.a1, "s-a1")
		sentinel(t, e.b1, e.b2, "s-b2")
		sentinel(t, e.a1, e.b1, "s-b1")
		sentinel(t, e.b1, e.a2, "s-a2")
		e.a1.expectNone("carbon of own message", carrying("to b1"))
		e.b1.expectNone("carbon of received message", isCarbon("received", "to b1"))
		e.b2.expectNone("carbon of own message", carrying("normal"))
		e.a2.expectNone("carbon of received message", isCarbon("received", "normal"))

		require.GreaterOrEqual(t, metricSum(t, e.s, "mod_carboncopy_copies_count", "direction", "sent"), 2.0)
		require.GreaterOrEqual(t, metricSum(t, e.s, "mod_carboncopy_copies_count", "direction", "received"), 2.0)
	})
}

func TestCarbons_PrivateNoCopyAndIneligible(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		for _, c := range e.all() {
			enableCarbons(t, c, true)
		}
		e.a1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>secret</body><private xmlns='%s'/></message>`, e.b1.jid, nsCarbons))
		got := e.b1.expect("private message", isMessage("secret"))
		// §8: the receiving server removes <private/>.
		require.Nil(t, got.Child(nsCarbons, "private"), got.String())
		e.a1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>hinted</body><no-copy xmlns='urn:xmpp:hints'/></message>`, e.b1.jid))
		e.b1.expect("no-copy message", isMessage("hinted"))
		// Headlines, groupchat-looking and body-less normal messages, MUC
		// private messages and forged carbons are not copied.
		for _, m := range []string{
			`<message to='%s' type='headline'><body>headline</body></message>`,
			`<message to='%s' type='chat'><body>mucpm</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`,
			`<message to='%s' type='chat'><body>forged</body><sent xmlns='urn:xmpp:carbons:2'/></message>`,
		} {
			e.a1.send(fmt.Sprintf(m, e.b1.jid))
		}
		e.b1.expect("headline", isMessage("headline"))
		e.b1.expect("muc pm", isMessage("mucpm"))
		e.b1.expect("forged", isMessage("forged"))

		// The next eligible message is copied: its copies come after any
		// copy of the earlier ones.
		e.a1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>plain</body></message>`, e.b1.jid))
		e.b2.expect("received carbon", isCarbon("received", "plain"))
		e.a2.expect("sent carbon", isCarbon("sent", "plain"))
		for _, body := range []string{"secret", "hinted", "headline", "mucpm", "forged"} {
			e.b2.expectNone("copy of "+body, carrying(body))
			e.a2.expectNone("copy of "+body, carrying(body))
		}
	})
}

func TestCarbons_DisabledResourceGetsNone(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		enableCarbons(t, e.a1, true)
		enableCarbons(t, e.a2, true)
		enableCarbons(t, e.a2, false)
		// b1, b2 never enabled: no copies for them either.
		e.b1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>to a1</body></message>`, e.a1.jid))
		e.a1.expect("original", isMessage("to a1"))
		e.a2.send(fmt.Sprintf(`<message to='%s' type='chat'><body>from a2</body></message>`, e.b1.jid))
		e.b1.expect("original", isMessage("from a2"))
		// a1 is enabled: it gets the sent copy of a2's message.
		e.a1.expect("sent carbon", isCarbon("sent", "from a2"))

		sentinel(t, e.b1, e.a2, "s-a2")
		sentinel(t, e.a1, e.b2, "s-b2")
		e.a2.expectNone("carbon for a disabled resource", carrying("to a1"))
		e.b2.expectNone("carbon for a never-enabled resource", carrying("from a2"))
		e.b2.expectNone("carbon for a never-enabled resource", carrying("to a1"))
	})
}

// TestCarbons_BareJIDNoDuplicates: RFC 6121 §8.5.2.1.1 delivers a chat
// message to the bare JID to every resource of highest priority; those get
// the original, the other carbons-enabled resources a copy, and nobody
// both.
func TestCarbons_BareJIDNoDuplicates(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		for _, c := range e.all() {
			enableCarbons(t, c, true)
		}
		// Equal priorities: both of Alice's resources get the original.
		e.b1.send(`<message to='alice@localhost' type='chat'><body>equal</body></message>`)
		e.a1.expect("original", isMessage("equal"))
		e.a2.expect("original", isMessage("equal"))
		e.b2.expect("sent carbon", isCarbon("sent", "equal"))

		// a1 with a higher priority gets the original, a2 a received copy.
		e.a1.send(`<presence><priority>5</priority></presence>`)
		// The echo of a1's own presence: the priority is in effect.
		e.a1.expect("a1's new presence", func(el *xmlstream.Element) bool {
			return el.Local == "presence" && el.Attr("from") == e.a1.jid && el.ChildText("", "priority") == "5"
		})
		e.b1.send(`<message to='alice@localhost' type='chat'><body>prio</body></message>`)
		e.a1.expect("original", isMessage("prio"))
		e.a2.expect("received carbon", isCarbon("received", "prio"))

		sentinel(t, e.b1, e.a1, "s-a1")
		sentinel(t, e.b1, e.a2, "s-a2")
		e.a1.expectNone("second copy", carrying("equal"))
		e.a2.expectNone("second copy", carrying("equal"))
		e.a1.expectNone("second copy", carrying("prio"))
		e.a2.expectNone("second copy", carrying("prio"))
	})
}

func TestCarbons_SessionEndClearsState(t *testing.T) {
	t.Parallel()
	forEachDB(t, func(t *testing.T, d *db.DB) {
		e := startCarbons(t, d)
		enableCarbons(t, e.a1, true)
		enableCarbons(t, e.a2, true)
		require.Equal(t, 2.0, metricSum(t, e.s, "mod_carboncopy_enabled_sessions_count", "", ""))
		a2 := jid.MustParse(e.a2.jid)
		require.NoError(t, e.a2.sess.Close())
		wait.Until(t, 15*time.Second, func() error {
			if e.s.Router().Session(a2) != nil {
				return errors.New("the closed session is still routed to")
			}
			if n := metricSum(t, e.s, "mod_carboncopy_enabled_sessions_count", "", ""); n != 1 {
				return fmt.Errorf("%v sessions with carbons enabled, want 1", n)
			}
			return nil
		})
		require.False(t, e.s.Carbons().Enabled(a2))

		// The same resource bound again starts with carbons off.
		raw := e.s.loginRaw(t, "alice", e.a2.jid)
		require.False(t, e.s.Carbons().Enabled(a2))
		raw.write(`<presence/>`)
		e.b1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>after</body></message>`, e.a1.jid))
		e.a1.expect("original", isMessage("after"))
		raw.write(`<iq type='set' id='c1'><enable xmlns='` + nsCarbons + `'/></iq>`)
		got := readUntil(t, raw.nc, raw.nc.SetReadDeadline, "id=\"c1\"")
		require.NotContains(t, got, "after", "a carbon reached the new session before it enabled carbons")
		e.b1.send(fmt.Sprintf(`<message to='%s' type='chat'><body>later</body></message>`, e.a1.jid))
		got = readUntil(t, raw.nc, raw.nc.SetReadDeadline, "later")
		// On the wire (the mellium client blanks it): from the bare JID.
		require.Contains(t, got, `from="alice@localhost" to="`+e.a2.jid+`" type="chat"><received xmlns="`+nsCarbons+`">`)
	})
}
