package last

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// failingStore fails every read.
type failingStore struct{ *MemStore }

func (failingStore) Get(context.Context, Key) (Record, bool, error) {
	return Record{}, false, errors.New("database down")
}

func query(t *testing.T, f *fixture, from, to, typ string) *xmlstream.Element {
	t.Helper()
	el := xmlstream.New(stanza.NSClient, "iq", "type", typ, "id", "q1", "from", from, "to", to)
	p := xmlstream.New(NS, "query")
	el.Append(p)
	tj := jid.MustParse(to)
	comp := iq.SessionManager
	if tj.Local() == "" {
		comp = iq.Local
	}
	var res *xmlstream.Element
	ok := f.m.d.IQ.Dispatch(context.Background(), comp, iq.Request{From: jid.MustParse(from), To: tj, IQ: el, Payload: p},
		func(r *xmlstream.Element) { res = r })
	require.True(t, ok)
	require.NotNil(t, res, "no_queue answers inline")
	return res
}

func condition(res *xmlstream.Element) string {
	if res.Attr("type") != "error" {
		return ""
	}
	for _, c := range res.Child("", "error").Elements() {
		if c.Space == stanza.NSStanzas {
			return c.Local
		}
	}
	return "?"
}

func TestUserIQAnswers(t *testing.T) {
	f := newFixture(t, NewMemStore())
	ctx := context.Background()
	f.add("bob@localhost")
	// Seconds are not clamped: a stored time in the future is negative;
	// an empty status gives an element with empty content.
	_, err := f.m.SetLast(ctx, "bob@localhost", f.now.Add(10*time.Second), "")
	require.NoError(t, err)
	res := query(t, f, "bob@localhost/r", "bob@localhost", "get")
	q := res.Child(NS, "query")
	require.Equal(t, "-10", q.Attr("seconds"))
	require.Equal(t, "", q.Text())
	require.Equal(t, "query", res.Elements()[0].Local, "handler errors and results put the query first")

	require.Equal(t, "not-allowed", condition(query(t, f, "bob@localhost/r", "bob@localhost", "set")))
	require.Equal(t, "not-allowed", condition(query(t, f, "bob@localhost/r", "localhost", "set")))
	res = query(t, f, "x@localhost/r", "localhost", "get")
	require.Equal(t, "3600", res.Child(NS, "query").Attr("seconds"))

	// The roster rule, through the RosterLists hook.
	require.Equal(t, "forbidden", condition(query(t, f, "alice@localhost/r", "bob@localhost", "get")))
	f.hooks.RosterLists.Add(50, "test", func(_ context.Context, l *hooks.RosterLists) bool {
		if l.User.String() == "bob@localhost" {
			l.From = append(l.From, jid.MustParse("alice@localhost"))
		}
		return false
	})
	res = query(t, f, "alice@localhost/r", "bob@localhost", "get")
	require.Equal(t, "-10", res.Child(NS, "query").Attr("seconds"))
	require.Equal(t, "service-unavailable", condition(query(t, f, "nobody@localhost/r", "nobody@localhost", "get")))
}

func TestUserIQStorageError(t *testing.T) {
	f := newFixture(t, failingStore{NewMemStore()})
	res := query(t, f, "bob@localhost/r", "bob@localhost", "get")
	require.Equal(t, "internal-server-error", condition(res))
	require.Equal(t, "wait", res.Child("", "error").Attr("type"))
	require.Equal(t, "500", res.Child("", "error").Attr("code"))
}

func TestStopUnregisters(t *testing.T) {
	f := newFixture(t, NewMemStore())
	require.Equal(t, []string{NS}, f.m.d.IQ.Namespaces(iq.Local))
	require.Equal(t, 1, f.hooks.PresenceUnavailable.Len())
	// Counters exist at 0 from the start (server.md §4).
	require.Equal(t, 0.0, counterValue(t, f.reg, "mod_last_mnesia_count", "get_last"))
	require.NoError(t, f.m.Stop(context.Background()))
	require.Empty(t, f.m.d.IQ.Namespaces(iq.Local))
	require.Empty(t, f.m.d.IQ.Namespaces(iq.SessionManager))
	require.Zero(t, f.hooks.PresenceUnavailable.Len()+f.hooks.UserRemoved.Len()+f.hooks.SessionIQ.Len())
}
