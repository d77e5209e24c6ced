package mam

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// benchStore is a Store whose owners all exist and whose writes vanish.
type benchStore struct {
	insertLog
	mu  sync.Mutex
	ids map[string]int64
}

func (s *benchStore) OwnerID(_ context.Context, server, user string, _ bool) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.ids[user+"@"+server]
	if !ok {
		id = int64(len(s.ids) + 1)
		s.ids[user+"@"+server] = id
	}
	return id, nil
}

func (*benchStore) Prefs(context.Context, int64) (Prefs, bool, error) { return Prefs{}, false, nil }
func (*benchStore) Insert(context.Context, Kind, []Item) error        { return nil }

type benchRouter struct{}

func (benchRouter) Route(context.Context, jid.JID, jid.JID, *xmlstream.Element) {}
func (benchRouter) IsLocal(string) bool                                         { return true }
func (benchRouter) Session(jid.JID) router.Session                              { return nil }

// BenchmarkArchiveMessage is the archive's cost on the message path, both
// sides of one chat message between two of 1,000 users: the rule, the
// cached owner ids and preferences, the id, the stored XML and search
// text, the stanza-id copy and queueing on the asynchronous writer (the
// flushes write nowhere).
//
//	go test -run '^$' -bench ArchiveMessage -benchmem ./internal/mod/mam/
func BenchmarkArchiveMessage(b *testing.B) {
	m, err := New(Deps{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: &benchStore{ids: map[string]int64{}}, Router: benchRouter{},
		Hooks: &hooks.Hooks{}, IQ: iq.NewRegistry(slog.New(slog.NewTextHandler(io.Discard, nil))), Domains: []string{"localhost"}},
		config.ModMam{PM: &config.MamPM{MamOptions: config.MamOptions{FullTextSearch: true,
			AsyncWriter: config.MamAsyncWriter{Enabled: true, FlushInterval: 100, BatchSize: 30, PoolSize: 4}}}})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer m.Stop(ctx)
	const users = 1000
	msgs := make([]*xmlstream.Element, users)
	froms, tos := make([]jid.JID, users), make([]jid.JID, users)
	for i := range users {
		froms[i] = jid.MustParse(fmt.Sprintf("user%d@localhost/phone", i))
		tos[i] = jid.MustParse(fmt.Sprintf("user%d@localhost", (i*7+1)%users))
		msgs[i] = xmlstream.New("jabber:client", "message", "from", froms[i].String(), "to", tos[i].String(), "type", "chat", "id", "m1")
		msgs[i].Append(xmlstream.New("jabber:client", "body").AppendText("See you at five, by the old station clock."))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % users
		i++
		sent := &hooks.StanzaEvent{From: froms[k], To: tos[k], Stanza: msgs[k]}
		m.userSent(ctx, sent)
		in := &hooks.StanzaEvent{From: froms[k], To: tos[k], Stanza: msgs[k], ArchiveID: sent.ArchiveID}
		m.localMessage(ctx, in)
		if in.Stanza == msgs[k] {
			b.Fatal("no stanza-id")
		}
	}
}
