package router

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// fakeSession records what it is sent; a unit-test stand-in for a client.
type fakeSession struct {
	Session  // the methods the router does not use (calling one panics)
	jid      jid.JID
	avail    bool
	prio     int
	full     bool
	mu       sync.Mutex
	got      []*xmlstream.Element
	replaced bool
}

func (f *fakeSession) JID() jid.JID { return f.jid }
func (f *fakeSession) Send(el *xmlstream.Element) bool {
	if f.full {
		return false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, el)
	return true
}
func (f *fakeSession) Presence() (bool, int) { return f.avail, f.prio }
func (f *fakeSession) Replaced()             { f.replaced = true }

func (f *fakeSession) bodies() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, el := range f.got {
		if el.Attr("type") == "error" {
			out = append(out, "error:"+el.Elements()[0].Elements()[0].Local)
		} else if b := el.ChildText(stanza.NSClient, "body"); b != "" {
			out = append(out, b)
		}
	}
	return out
}

type accounts map[string]bool

func (a accounts) UserExists(_ context.Context, server, user string) (bool, error) {
	return a[user+"@"+server], nil
}

func newRouter(t testing.TB) (*Router, *hooks.Hooks) {
	h := &hooks.Hooks{}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := iq.NewRegistry(log)
	t.Cleanup(reg.Close)
	return New(log, []string{"localhost"}, h, reg, accounts{"alice@localhost": true, "bob@localhost": true}, nil), h
}

func sess(r *Router, full string, avail bool, prio int) *fakeSession {
	s := &fakeSession{jid: jid.MustParse(full), avail: avail, prio: prio}
	r.Bind(s)
	return s
}

func msg(from, to, typ, body string) *xmlstream.Element {
	m := xmlstream.New(stanza.NSClient, "message", "from", from, "to", to, "type", typ, "id", "m1")
	return m.Append(xmlstream.New(stanza.NSClient, "body").AppendText(body))
}

func route(r *Router, el *xmlstream.Element) {
	r.Route(context.Background(), jid.MustParse(el.Attr("from")), jid.MustParse(el.Attr("to")), el)
}

func TestMessageDeliveryRules(t *testing.T) {
	r, h := newRouter(t)
	var offline []string
	h.OfflineMessage.Add(0, "test", func(_ context.Context, ev *hooks.StanzaEvent) bool {
		offline = append(offline, ev.Stanza.ChildText(stanza.NSClient, "body"))
		ev.Handled = true
		return true
	})
	bob := sess(r, "bob@localhost/b", true, 0)
	hi := sess(r, "alice@localhost/hi", true, 5)
	lo := sess(r, "alice@localhost/lo", true, 1)
	neg := sess(r, "alice@localhost/neg", true, -1)
	unavail := sess(r, "alice@localhost/un", false, 10)

	route(r, msg("bob@localhost/b", "alice@localhost", "chat", "bare chat"))
	route(r, msg("bob@localhost/b", "alice@localhost", "headline", "headline"))
	route(r, msg("bob@localhost/b", "alice@localhost/lo", "chat", "full"))
	route(r, msg("bob@localhost/b", "alice@localhost/gone", "chat", "full gone"))
	route(r, msg("bob@localhost/b", "alice@localhost/neg", "normal", "to neg"))

	require.Equal(t, []string{"bare chat", "headline", "full gone"}, hi.bodies())
	require.Equal(t, []string{"headline", "full"}, lo.bodies())
	require.Equal(t, []string{"to neg"}, neg.bodies(), "a full JID reaches even a negative priority")
	require.Empty(t, unavail.bodies())
	require.Empty(t, offline)

	// Nobody available: chat is stored, headline dropped, unknown user bounced.
	for _, s := range []*fakeSession{hi, lo, neg, unavail} {
		r.Unbind(s)
	}
	route(r, msg("bob@localhost/b", "alice@localhost", "chat", "stored"))
	route(r, msg("bob@localhost/b", "alice@localhost", "headline", "dropped"))
	route(r, msg("bob@localhost/b", "nobody@localhost", "chat", "bounced"))
	route(r, msg("bob@localhost/b", "someone@remote.example", "chat", "remote"))
	require.Equal(t, []string{"stored"}, offline)
	require.Equal(t, []string{"error:service-unavailable", "error:remote-server-not-found"}, bob.bodies())
}

func TestFullQueueBouncesToSender(t *testing.T) {
	r, _ := newRouter(t)
	bob := sess(r, "bob@localhost/b", true, 0)
	alice := sess(r, "alice@localhost/a", true, 0)
	alice.full = true
	route(r, msg("bob@localhost/b", "alice@localhost/a", "chat", "x"))
	require.Equal(t, []string{"error:resource-constraint"}, bob.bodies())
}

func TestBindReplacesSameResource(t *testing.T) {
	r, _ := newRouter(t)
	old := sess(r, "alice@localhost/a", true, 0)
	nw := sess(r, "alice@localhost/a", true, 0)
	require.True(t, old.replaced)
	require.False(t, nw.replaced)
	require.False(t, r.Unbind(old), "the replaced session no longer owns the resource")
	require.Equal(t, Session(nw), r.Session(jid.MustParse("alice@localhost/a")))
	require.True(t, r.Unbind(nw))
	require.Equal(t, 0, r.SessionCount())
}

func TestIQRouting(t *testing.T) {
	r, _ := newRouter(t)
	bob := sess(r, "bob@localhost/b", true, 0)
	iqEl := func(to, typ, payloadNS string) *xmlstream.Element {
		el := xmlstream.New(stanza.NSClient, "iq", "from", "bob@localhost/b", "to", to, "type", typ, "id", "q")
		if payloadNS != "" {
			el.Append(xmlstream.New(payloadNS, "query"))
		}
		return el
	}
	route(r, iqEl("alice@localhost", "get", "urn:unknown"))
	route(r, iqEl("alice@localhost/x", "get", "urn:unknown"))
	route(r, iqEl("alice@localhost/x", "result", ""))
	route(r, iqEl("alice@localhost", "result", ""))
	route(r, iqEl("localhost", "get", ""))
	var texts []string
	for _, el := range bob.got {
		e := el.Child(stanza.NSClient, "error")
		require.NotNil(t, e)
		texts = append(texts, e.Elements()[0].Local+"|"+e.ChildText(stanza.NSStanzas, "text"))
	}
	require.Equal(t, []string{
		"service-unavailable|Unknown xmlns=urn:unknown for host=localhost",
		"service-unavailable|Route offline",
		"bad-request|",
	}, texts)
}

// BenchmarkParseAndRoute measures the cost of one chat message from the
// bytes on the wire to the recipient's outbound queue: decode, stamp,
// route to a bare JID with two resources.
func BenchmarkParseAndRoute(b *testing.B) {
	r, _ := newRouter(b)
	sess(r, "alice@localhost/a", true, 0)
	to := sess(r, "bob@localhost/b", true, 0)
	const m = `<message to='bob@localhost' type='chat' id='ktx72v49'><body>Art thou not Romeo, and a Montague?</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`
	in := `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>` + strings.Repeat(m, b.N)
	d := xmlstream.NewDecoder(strings.NewReader(in), 65536)
	if _, err := d.Header(); err != nil {
		b.Fatal(err)
	}
	from := jid.MustParse("alice@localhost/a")
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		el, err := d.Next()
		if err != nil {
			b.Fatal(err)
		}
		el.SetAttr("from", from.String())
		tj, err := jid.Parse(el.Attr("to"))
		if err != nil {
			b.Fatal(err)
		}
		r.Route(ctx, from, tj, el)
		if i%1024 == 0 {
			to.got = to.got[:0]
		}
	}
}
