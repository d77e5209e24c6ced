package inbox

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// readCounter counts the single-entry property reads (the synchronous
// read of the message path) and the flush's batched reads.
type readCounter struct {
	Store
	props, many atomic.Int32
}

func (c *readCounter) Props(ctx context.Context, o Owner, remote string) (Props, error) {
	c.props.Add(1)
	return c.Store.Props(ctx, o, remote)
}

func (c *readCounter) ArchivedMany(ctx context.Context, keys []EntryKey) (map[EntryKey]Props, error) {
	c.many.Add(1)
	return c.Store.ArchivedMany(ctx, keys)
}

// routed records the routed stanzas.
type routed struct {
	mu  sync.Mutex
	els []*xmlstream.Element
}

func (r *routed) Route(_ context.Context, _, _ jid.JID, el *xmlstream.Element) {
	r.mu.Lock()
	r.els = append(r.els, el)
	r.mu.Unlock()
}

func (*routed) IsLocal(domain string) bool { return domain == "localhost" }

// notes returns the auto-unarchive notifications routed so far, as
// "owner entry read" strings, sorted.
func (r *routed) notes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, el := range r.els {
		if x := el.Child(NSConversation, "x"); x != nil && x.ChildText(NSConversation, "box") == "inbox" {
			out = append(out, el.Attr("to")+" "+x.Attr("jid")+" "+x.ChildText(NSConversation, "read"))
		}
	}
	slices.Sort(out)
	return out
}

// TestAsyncUnarchiveOffSenderPath: with rdbms_async, a message to an
// archived conversation (one-to-one or MUC Light) does not read the entry
// on the sender's path; the flush that stores it reads the previous boxes
// in one statement, brings the entries back to the inbox and notifies
// their owners (spec/inbox.md §8.7), once.
func TestAsyncUnarchiveOffSenderPath(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_inbox")+"\n[modules.mod_inbox]\nbackend = \"rdbms_async\"\n"), "t.toml")
		require.NoError(t, err)
		store := &readCounter{Store: NewSQLStore(d)}
		r := &routed{}
		m, err := New(Deps{Store: store, Router: r, Hooks: &hooks.Hooks{}, IQ: iq.NewRegistry(nil),
			LightService: func(domain string) bool { return domain == "muclight.localhost" }},
			*cfg.Modules.Inbox)
		require.NoError(t, err)
		// One shard flushing at once, so that each step's writes are
		// stored by the next Sync.
		m.async = newAsyncWriter(m.store, batch.Options{Name: "inbox_test", Workers: 1})
		m.async.check = m.checkArchive
		require.NoError(t, m.Start(ctx))
		t.Cleanup(func() { _ = m.Stop(ctx) })

		alice, bob, kate := jid.MustParse("alice@localhost"), jid.MustParse("bob@localhost"), jid.MustParse("kate@localhost")
		const room = "room@muclight.localhost"
		archive := func(o jid.JID, remote string) {
			_, err := store.Upsert(ctx, owner(o), Upsert{Remote: remote, MsgID: "old", Content: "<message/>", Timestamp: 1, Count: 2, Incr: true, Box: "inbox"})
			require.NoError(t, err)
			box := "archive"
			_, err = store.SetProps(ctx, owner(o), remote, SetProps{Box: &box})
			require.NoError(t, err)
		}
		archive(bob, "alice@localhost")
		archive(kate, room)
		archive(bob, room)
		box := func(o jid.JID, remote string) (string, int) {
			e, err := store.Get(ctx, owner(o), remote)
			require.NoError(t, err)
			return e.Box, e.UnreadCount
		}

		msg := xmlstream.New(stanza.NSClient, "message", "type", "chat", "id", "c1", "from", "alice@localhost/pc", "to", "bob@localhost")
		msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("hi"))
		m.localMessage(ctx, &hooks.StanzaEvent{From: jid.MustParse("alice@localhost/pc"), To: bob, Stanza: msg})
		gc := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", "g1", "from", room+"/alice@localhost")
		gc.Append(xmlstream.New(stanza.NSClient, "body").AppendText("all"))
		m.lightMessageAsync(ctx, &hooks.LightMessage{Room: jid.MustParse(room), Sender: alice, Stanza: gc,
			Members: []jid.JID{alice, bob, kate}, Version: "v1"})
		require.Zero(t, store.props.Load(), "no entry read on the sender's path")

		require.NoError(t, m.Sync(ctx))
		require.Equal(t, []string{"bob@localhost alice@localhost false", "bob@localhost " + room + " false",
			"kate@localhost " + room + " false"}, r.notes())
		b, n := box(bob, "alice@localhost")
		require.Equal(t, []any{"inbox", 3}, []any{b, n})
		b, n = box(kate, room)
		require.Equal(t, []any{"inbox", 3}, []any{b, n})
		b, _ = box(bob, room)
		require.Equal(t, "inbox", b)
		reads := store.many.Load()
		require.NotZero(t, reads)

		// The entries are known to be out of the archive now: more
		// messages read nothing and notify nobody again.
		r.mu.Lock()
		r.els = nil
		r.mu.Unlock()
		m.localMessage(ctx, &hooks.StanzaEvent{From: jid.MustParse("alice@localhost/pc"), To: bob, Stanza: msg.WithAttr("id", "c2")})
		m.lightMessageAsync(ctx, &hooks.LightMessage{Room: jid.MustParse(room), Sender: alice, Stanza: gc.WithAttr("id", "g2"),
			Members: []jid.JID{alice, bob, kate}, Version: "v1"})
		require.NoError(t, m.Sync(ctx))
		require.Empty(t, r.notes())
		require.Equal(t, reads, store.many.Load())
		require.Zero(t, store.props.Load())
	})
}
