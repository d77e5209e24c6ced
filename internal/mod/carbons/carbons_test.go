package carbons

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func parse(t testing.TB, raw string) *xmlstream.Element {
	t.Helper()
	d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+raw), 0)
	_, err := d.Header()
	require.NoError(t, err)
	el, err := d.Next()
	require.NoError(t, err, raw)
	return el
}

func TestEligible(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  string
		want bool
	}{
		{"chat with body", `<message type='chat'><body>hi</body></message>`, true},
		{"chat without body (chat state)", `<message type='chat'><active xmlns='http://jabber.org/protocol/chatstates'/></message>`, true},
		{"normal with body", `<message type='normal'><body>hi</body></message>`, true},
		{"no type with body", `<message><body>hi</body></message>`, true},
		{"normal without body", `<message type='normal'><x xmlns='urn:other'/></message>`, false},
		{"no type without body", `<message/>`, false},
		{"groupchat", `<message type='groupchat'><body>hi</body></message>`, false},
		{"headline", `<message type='headline'><body>hi</body></message>`, false},
		{"error", `<message type='error'><body>hi</body></message>`, false},
		{"unknown type", `<message type='bogus'><body>hi</body></message>`, false},
		{"private", `<message type='chat'><body>hi</body><private xmlns='urn:xmpp:carbons:2'/></message>`, false},
		{"no-copy hint", `<message type='chat'><body>hi</body><no-copy xmlns='urn:xmpp:hints'/></message>`, false},
		{"other hint", `<message type='chat'><body>hi</body><no-store xmlns='urn:xmpp:hints'/></message>`, true},
		{"private in another namespace", `<message type='chat'><body>hi</body><private xmlns='urn:other'/></message>`, true},
		{"sent carbon", `<message type='chat'><sent xmlns='urn:xmpp:carbons:2'/></message>`, false},
		{"received carbon with body", `<message><body>x</body><received xmlns='urn:xmpp:carbons:2'/></message>`, false},
		{"MUC private message", `<message type='chat'><body>hi</body><x xmlns='http://jabber.org/protocol/muc#user'/></message>`, false},
		{"MUC invitation (normal, no body)", `<message><x xmlns='http://jabber.org/protocol/muc#user'><invite/></x></message>`, false},
		{"body in another namespace", `<message><body xmlns='urn:other'>hi</body></message>`, false},
		{"presence", `<presence type='chat'/>`, false},
		{"iq", `<iq type='set' id='1'><body>hi</body></iq>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Eligible(parse(t, tc.raw)))
		})
	}
	require.False(t, Eligible(nil))
}

func TestWrap(t *testing.T) {
	msg := parse(t, `<message from='juliet@capulet.example/balcony' to='romeo@montague.example/garden' type='chat' id='m1'><body>What man art thou</body></message>`)
	to := jid.MustParse("romeo@montague.example/home")
	for _, kind := range []string{"sent", "received"} {
		w := Wrap(kind, msg, to)
		back := parse(t, string(w.Bytes("jabber:client")))
		require.Equal(t, "romeo@montague.example", back.Attr("from"))
		require.Equal(t, "romeo@montague.example/home", back.Attr("to"))
		require.Equal(t, "chat", back.Attr("type"))
		inner := back.Child(NS, kind).Child(NSForward, "forwarded").Child("jabber:client", "message")
		require.NotNil(t, inner, back.String())
		require.Equal(t, msg.String(), inner.String())
		// A carbon is never copied again.
		require.False(t, Eligible(back), "carbon of a carbon")
	}
	// No type on the original: none on the copy.
	w := Wrap("sent", parse(t, `<message><body>b</body></message>`), to)
	require.False(t, w.HasAttr("type"))
}

// fakeSession is a bound session that records what it is sent.
type fakeSession struct {
	router.Session // the methods the module does not use (calling one panics)
	jid            jid.JID
	mu             sync.Mutex
	got            []*xmlstream.Element
}

func (f *fakeSession) JID() jid.JID { return f.jid }
func (f *fakeSession) Send(el *xmlstream.Element) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, el)
	return true
}
func (f *fakeSession) Presence() (bool, int) { return true, 0 }
func (f *fakeSession) Replaced()             {}

func (f *fakeSession) take() []*xmlstream.Element {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.got
	f.got = nil
	return out
}

type env struct {
	h   *hooks.Hooks
	r   *router.Router
	m   *Module
	reg *iq.Registry
}

func newEnv(t testing.TB) *env {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &hooks.Hooks{}
	reg := iq.NewRegistry(log)
	t.Cleanup(reg.Close)
	r := router.New(log, []string{"localhost"}, h, reg, nil, nil)
	m, err := New(Deps{Log: log, Sessions: r, Hooks: h, IQ: reg}, config.ModCarbonCopy{IQDisc: config.IQDisc{Type: "no_queue"}})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { m.Stop(context.Background()) })
	return &env{h: h, r: r, m: m, reg: reg}
}

func (e *env) bind(full string) *fakeSession {
	s := &fakeSession{jid: jid.MustParse(full)}
	e.r.Bind(s)
	e.h.SessionOpened.Run(context.Background(), &hooks.SessionEvent{JID: s.jid})
	return s
}

func (e *env) close(s *fakeSession) {
	e.r.Unbind(s)
	e.h.SessionClosed.Run(context.Background(), &hooks.SessionEvent{JID: s.jid})
}

// iq sends an IQ from s to its own bare JID, as a client does, and
// returns the reply s gets.
func (e *env) iq(t testing.TB, s *fakeSession, payload string) *xmlstream.Element {
	t.Helper()
	el := parse(t, `<iq type='set' id='c1'>`+payload+`</iq>`)
	el.SetAttr("from", s.jid.String())
	e.r.Route(context.Background(), s.jid, s.jid.Bare(), el)
	got := s.take()
	require.Len(t, got, 1)
	return got[0]
}

// send routes a message as the c2s layer does.
func (e *env) send(t *testing.T, s *fakeSession, to, raw string) {
	t.Helper()
	el := parse(t, raw)
	el.SetAttr("from", s.jid.String())
	el.SetAttr("to", to)
	tj := jid.MustParse(to)
	e.h.UserSentMessage.Run(context.Background(), &hooks.StanzaEvent{From: s.jid, To: tj, Stanza: el})
	e.r.Route(context.Background(), s.jid, tj, el)
}

func TestEnableDisableState(t *testing.T) {
	e := newEnv(t)
	a := e.bind("alice@localhost/a")
	require.Equal(t, "result", e.iq(t, a, `<enable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	require.True(t, e.m.Enabled(a.jid))
	// §10.1: enabling twice is no error.
	require.Equal(t, "result", e.iq(t, a, `<enable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	require.Equal(t, "result", e.iq(t, a, `<disable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	require.False(t, e.m.Enabled(a.jid))
	require.Equal(t, "result", e.iq(t, a, `<disable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	bad := e.iq(t, a, `<private xmlns='urn:xmpp:carbons:2'/>`)
	require.Equal(t, "error", bad.Attr("type"))
	require.NotNil(t, bad.Child("", "error").Child("", "bad-request"), bad.String())

	// A session replaced by a new one on the same full JID does not pass
	// its state on, and the old session's end does not clear the new one's.
	require.Equal(t, "result", e.iq(t, a, `<enable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	a2 := e.bind("alice@localhost/a")
	require.False(t, e.m.Enabled(a2.jid))
	require.Equal(t, "result", e.iq(t, a2, `<enable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	e.h.SessionClosed.Run(context.Background(), &hooks.SessionEvent{JID: a.jid}) // the old one ends
	require.True(t, e.m.Enabled(a2.jid))
	e.close(a2)
	require.False(t, e.m.Enabled(a2.jid))
	e.m.mu.Lock()
	require.Empty(t, e.m.on)
	require.Empty(t, e.m.users)
	e.m.mu.Unlock()
}

func carbonsOf(got []*xmlstream.Element, kind string) []*xmlstream.Element {
	var out []*xmlstream.Element
	for _, el := range got {
		if c := el.Child(NS, kind); c != nil {
			out = append(out, c.Child(NSForward, "forwarded").Child("", "message"))
		}
	}
	return out
}

func TestCopies(t *testing.T) {
	e := newEnv(t)
	a, b, c := e.bind("alice@localhost/a"), e.bind("alice@localhost/b"), e.bind("alice@localhost/c")
	x, y := e.bind("bob@localhost/x"), e.bind("bob@localhost/y")
	for _, s := range []*fakeSession{a, b, x, y} {
		require.Equal(t, "result", e.iq(t, s, `<enable xmlns='urn:xmpp:carbons:2'/>`).Attr("type"))
	}

	// Alice/a to bob/x: b gets <sent/>, y gets <received/>, c (not enabled)
	// and a (the sender) nothing.
	e.send(t, a, "bob@localhost/x", `<message type='chat' id='1'><body>one</body></message>`)
	require.Len(t, carbonsOf(b.take(), "sent"), 1)
	require.Empty(t, a.take())
	require.Empty(t, c.take())
	require.Len(t, x.take(), 1)
	rc := carbonsOf(y.take(), "received")
	require.Len(t, rc, 1)
	require.Equal(t, "one", rc[0].ChildText("", "body"))

	// To the bare JID with equal priorities: both of Bob's resources get the
	// original, no received copies.
	e.send(t, a, "bob@localhost", `<message type='chat' id='2'><body>two</body></message>`)
	for _, s := range []*fakeSession{x, y} {
		got := s.take()
		require.Len(t, got, 1)
		require.Equal(t, "two", got[0].ChildText("", "body"))
	}
	require.Len(t, carbonsOf(b.take(), "sent"), 1)

	// <private/>: no copies, and the recipient gets it without <private/>.
	e.send(t, a, "bob@localhost/x", `<message type='chat' id='3'><body>three</body><private xmlns='urn:xmpp:carbons:2'/></message>`)
	got := x.take()
	require.Len(t, got, 1)
	require.Nil(t, got[0].Child(NS, "private"))
	require.Equal(t, "three", got[0].ChildText("", "body"))
	require.Empty(t, y.take())
	require.Empty(t, b.take())

	// Messages between one user's resources are not copied.
	e.send(t, a, "alice@localhost/b", `<message type='chat' id='4'><body>note</body></message>`)
	require.Len(t, b.take(), 1)
	require.Empty(t, a.take())
	require.Empty(t, c.take())
}
