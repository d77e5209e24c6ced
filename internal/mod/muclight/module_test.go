package muclight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// fakeSession counts what it is sent.
type fakeSession struct {
	router.Session // the methods the module does not use (calling one panics)
	jid            jid.JID
	sent           atomic.Int64
	mu             sync.Mutex
	last           *xmlstream.Element
}

func (s *fakeSession) JID() jid.JID { return s.jid }
func (s *fakeSession) Send(el *xmlstream.Element) bool {
	s.sent.Add(1)
	s.mu.Lock()
	s.last = el
	s.mu.Unlock()
	return true
}
func (s *fakeSession) Presence() (bool, int) { return true, 0 }
func (s *fakeSession) Replaced()             {}

// fakeRouter has one session per user and records routed stanzas.
type fakeRouter struct {
	mu       sync.Mutex
	sessions map[jid.JID]*fakeSession
	routed   []*xmlstream.Element
}

func (r *fakeRouter) Route(_ context.Context, _, _ jid.JID, el *xmlstream.Element) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.routed = append(r.routed, el)
}
func (r *fakeRouter) Sessions(bare jid.JID) []router.Session {
	if s := r.sessions[bare]; s != nil {
		return []router.Session{s}
	}
	return nil
}
func (r *fakeRouter) IsLocal(d string) bool                  { return d == "localhost" }
func (r *fakeRouter) RegisterService(string, router.Service) {}
func (r *fakeRouter) UnregisterService(string)               {}
func (r *fakeRouter) session(u string) *fakeSession          { return r.sessions[jid.MustParse(u)] }
func (r *fakeRouter) online(u string) *fakeSession {
	s := &fakeSession{jid: jid.MustParse(u + "/r")}
	r.sessions[jid.MustParse(u)] = s
	return s
}

func testOpts(t testing.TB, extra string) config.ModMucLight {
	cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_muc_light")+"\n[modules.mod_muc_light]\n"+extra), "t.toml")
	require.NoError(t, err)
	return *cfg.Modules.MucLight
}

func newTestModule(t testing.TB, store Store, extra string) (*Module, *fakeRouter, *hooks.Hooks) {
	r := &fakeRouter{sessions: map[jid.JID]*fakeSession{}}
	h := &hooks.Hooks{}
	m := started(t, Deps{Log: slog.New(slog.DiscardHandler), Store: store, Router: r, Hooks: h, Domains: []string{"localhost"}}, testOpts(t, extra))
	return m, r, h
}

func j(s string) jid.JID { return jid.MustParse(s) }

// started builds and starts a module for a test.
func started(t testing.TB, d Deps, opts config.ModMucLight) *Module {
	t.Helper()
	m, err := New(d, opts)
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	return m
}

func TestHooks(t *testing.T) {
	ctx := context.Background()
	m, r, h := newTestModule(t, NewMemStore(), "")
	for _, u := range []string{"alice@localhost", "bob@localhost", "kate@localhost"} {
		r.online(u)
	}
	var (
		mu         sync.Mutex
		deliveries []hooks.GroupchatDelivery
		changes    []hooks.RoomAffiliations
		destroyed  []hooks.RoomDestroyed
	)
	h.GroupchatDelivered.Add(50, "t", func(_ context.Context, ev *hooks.GroupchatDelivery) bool {
		mu.Lock()
		defer mu.Unlock()
		deliveries = append(deliveries, *ev)
		return false
	})
	var sent []hooks.LightMessage
	h.LightMessageSent.Add(50, "t", func(_ context.Context, ev *hooks.LightMessage) bool {
		sent = append(sent, *ev)
		return false
	})
	h.RoomAffiliationsChanged.Add(50, "t", func(_ context.Context, ev *hooks.RoomAffiliations) bool {
		changes = append(changes, *ev)
		return false
	})
	h.RoomDestroyed.Add(50, "t", func(_ context.Context, ev *hooks.RoomDestroyed) bool {
		destroyed = append(destroyed, *ev)
		return false
	})
	room := j("den@muclight.localhost")
	_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("alice@localhost"), Room: room, Occupants: []Occupant{{User: j("bob@localhost"), Aff: AffMember}}})
	require.NoError(t, err)
	require.Len(t, changes, 1)
	require.Empty(t, changes[0].PrevVersion)
	require.Equal(t, []hooks.AffiliationChange{{User: j("alice@localhost"), Affiliation: "owner"}, {User: j("bob@localhost"), Affiliation: "member"}}, changes[0].Changes)
	require.Len(t, deliveries, 2, "one creation notification per member")
	require.Empty(t, sent)

	deliveries = nil
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "m1", "hi")
	require.NoError(t, err)
	require.Empty(t, deliveries, "user messages are not reported per copy")
	require.Len(t, sent, 1, "a user message is reported once")
	require.Equal(t, room, sent[0].Room)
	require.Equal(t, j("bob@localhost"), sent[0].Sender)
	require.ElementsMatch(t, []jid.JID{j("alice@localhost"), j("bob@localhost")}, sent[0].Members)
	require.Empty(t, sent[0].Stanza.Attr("to"), "the reported copy has no to")
	require.Equal(t, "den@muclight.localhost/bob@localhost", sent[0].Stanza.Attr("from"))
	require.Equal(t, "hi", sent[0].Stanza.ChildText(stanza.NSClient, "body"))
	require.Equal(t, int64(2), r.session("bob@localhost").sent.Load())

	_, err = m.ChangeAffiliations(ctx, room, j("alice@localhost"), []Occupant{{User: j("kate@localhost"), Aff: AffOwner}}, "")
	require.NoError(t, err)
	require.Len(t, changes, 2)
	require.NotEmpty(t, changes[1].PrevVersion)
	require.NotEqual(t, changes[1].PrevVersion, changes[1].Version)
	require.Equal(t, []hooks.AffiliationChange{{User: j("alice@localhost"), Affiliation: "member"}, {User: j("kate@localhost"), Affiliation: "owner"}}, changes[1].Changes)

	require.NoError(t, m.Destroy(ctx, room, j("kate@localhost"), ""))
	require.Equal(t, []hooks.RoomDestroyed{{Room: room, Occupants: []jid.JID{j("alice@localhost"), j("bob@localhost"), j("kate@localhost")}}}, destroyed)
}

// TestChangeRules is the worked-outcomes table of spec/muclight.md §10.5.
func TestChangeRules(t *testing.T) {
	cur := []Occupant{{j("alice@l"), AffOwner}, {j("bob@l"), AffMember}, {j("kate@l"), AffMember}}
	type tc struct {
		opts    string
		items   []Occupant
		next    map[string]string
		changes map[string]string
		err     string
	}
	for name, c := range map[string]tc{
		"remove two": {items: []Occupant{{j("bob@l"), AffNone}, {j("kate@l"), AffNone}},
			next: map[string]string{"alice@l": "owner"}, changes: map[string]string{"bob@l": "none", "kate@l": "none"}},
		"new owner demotes": {items: []Occupant{{j("kate@l"), AffOwner}},
			next: map[string]string{"alice@l": "member", "bob@l": "member", "kate@l": "owner"}, changes: map[string]string{"alice@l": "member", "kate@l": "owner"}},
		"multiple owners": {opts: "allow_multiple_owners = true", items: []Occupant{{j("bob@l"), AffOwner}},
			next: map[string]string{"alice@l": "owner", "bob@l": "owner", "kate@l": "member"}, changes: map[string]string{"bob@l": "owner"}},
		"transfer and leave": {items: []Occupant{{j("bob@l"), AffNone}, {j("alice@l"), AffNone}, {j("kate@l"), AffOwner}},
			next: map[string]string{"kate@l": "owner"}, changes: map[string]string{"alice@l": "none", "bob@l": "none", "kate@l": "owner"}},
		"promotion": {items: []Occupant{{j("bob@l"), AffNone}, {j("alice@l"), AffMember}},
			next: map[string]string{"alice@l": "member", "kate@l": "owner"}, changes: map[string]string{"kate@l": "owner", "alice@l": "member", "bob@l": "none"}},
		"promotion disabled": {opts: "promote_on_last_owner_leave = false", items: []Occupant{{j("bob@l"), AffNone}, {j("alice@l"), AffMember}},
			err: "Cannot remove the last owner"},
		"demotion cancelled": {items: []Occupant{{j("alice@l"), AffMember}, {j("bob@l"), AffNone}, {j("kate@l"), AffNone}},
			next: map[string]string{"alice@l": "owner"}, changes: map[string]string{"bob@l": "none", "kate@l": "none"}},
		"joiner promoted": {items: []Occupant{{j("alice@l"), AffNone}, {j("bob@l"), AffNone}, {j("kate@l"), AffNone}, {j("mike@l"), AffMember}},
			next: map[string]string{"mike@l": "owner"}, changes: map[string]string{"alice@l": "none", "bob@l": "none", "kate@l": "none", "mike@l": "owner"}},
		"two new owners":    {items: []Occupant{{j("bob@l"), AffOwner}, {j("kate@l"), AffOwner}}, err: "Failed to demote old owner"},
		"meaningless":       {items: []Occupant{{j("bob@l"), AffMember}}, err: "Meaningless change"},
		"none for stranger": {items: []Occupant{{j("mike@l"), AffNone}}, err: "Meaningless change"},
		"duplicate":         {items: []Occupant{{j("mike@l"), AffMember}, {j("mike@l"), AffOwner}}, err: "same user twice"},
	} {
		t.Run(name, func(t *testing.T) {
			m, _, _ := newTestModule(t, NewMemStore(), c.opts)
			next, changes, err := m.change(cur, c.items, m.opts.PromoteOnLastOwnerLeave)
			if c.err != "" {
				require.ErrorContains(t, err, c.err)
				return
			}
			require.NoError(t, err)
			toMap := func(os []Occupant) map[string]string {
				out := map[string]string{}
				for _, o := range os {
					out[o.User.String()] = o.Aff.String()
				}
				return out
			}
			require.Equal(t, c.next, toMap(next))
			require.Equal(t, c.changes, toMap(changes))
			require.Len(t, changes, len(c.changes))
		})
	}
	// Equal occupants: no owner may appear.
	m, _, _ := newTestModule(t, NewMemStore(), "equal_occupants = true")
	_, _, err := m.change([]Occupant{{j("a@l"), AffMember}}, []Occupant{{j("a@l"), AffOwner}}, true)
	require.ErrorContains(t, err, "Ownerless room")
}

func TestRender(t *testing.T) {
	for _, c := range []struct {
		typ, in, out string
		ok           bool
	}{
		{"string", "", "", true},
		{"integer", "+12", "12", true},
		{"integer", "-3", "-3", true},
		{"integer", "1.0", "", false},
		{"float", "1.5", "1.50000000000000000000e+00", true},
		{"float", "1", "", false},
		{"float", "x.y", "", false},
		{"boolean", "true", "true", true},
		{"boolean", "True", "", false},
	} {
		out, ok := render(c.typ, c.in)
		require.Equal(t, c.ok, ok, "%s %q", c.typ, c.in)
		require.Equal(t, c.out, out, "%s %q", c.typ, c.in)
	}
}

func TestIDGenDiffers(t *testing.T) {
	fixed := time.Unix(1756123456, 789012000)
	g := idGen{now: func() time.Time { return fixed }}
	a, b := g.next(), g.next()
	require.Equal(t, "1756-123456-789012", a)
	require.Equal(t, "1756-123456-789013", b, "D13: a new value even within one microsecond")
}

func forEachStore(t *testing.T, fn func(t *testing.T, s Store)) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) { fn(t, NewSQLStore(d)) })
	t.Run("mem", func(t *testing.T) { fn(t, NewMemStore()) })
}

func TestStore(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		room := j("den@muclight.localhost")
		r := &Room{JID: room, Version: "v1", Config: map[string]string{"roomname": "Den", "subject": ""},
			Occupants: []Occupant{{j("zed@localhost"), AffMember}, {j("alice@localhost"), AffOwner}}}
		require.NoError(t, s.Create(ctx, r))
		require.ErrorIs(t, s.Create(ctx, r), ErrRoomExists)
		got, err := s.Get(ctx, room)
		require.NoError(t, err)
		require.Equal(t, "v1", got.Version)
		require.Equal(t, r.Config, got.Config)
		require.Equal(t, []Occupant{{j("alice@localhost"), AffOwner}, {j("zed@localhost"), AffMember}}, got.Occupants)
		occ, err := s.Occupants(ctx, room)
		require.NoError(t, err)
		require.Equal(t, got.Occupants, occ.Occupants)
		_, err = s.Get(ctx, j("nope@muclight.localhost"))
		require.ErrorIs(t, err, ErrRoomNotFound)
		_, err = s.Occupants(ctx, j("nope@muclight.localhost"))
		require.ErrorIs(t, err, ErrRoomNotFound)

		// Upsert of a field with no row (D8).
		prev, err := s.SetConfig(ctx, room, []KV{{"subject", "s"}, {"colour", "red"}}, "v2")
		require.NoError(t, err)
		require.Equal(t, "v1", prev)
		got, _ = s.Get(ctx, room)
		require.Equal(t, map[string]string{"roomname": "Den", "subject": "s", "colour": "red"}, got.Config)

		before, after, err := s.ChangeOccupants(ctx, room, func(v string, cur []Occupant) ([]Occupant, string, error) {
			require.Equal(t, "v2", v)
			return []Occupant{{j("alice@localhost"), AffMember}, {j("bob@localhost"), AffOwner}}, "v3", nil
		})
		require.NoError(t, err)
		require.Equal(t, "v2", before.Version)
		require.Equal(t, "v3", after.Version)
		got, _ = s.Get(ctx, room)
		require.Equal(t, []Occupant{{j("alice@localhost"), AffMember}, {j("bob@localhost"), AffOwner}}, got.Occupants)
		n, err := s.CountUserRooms(ctx, j("bob@localhost"))
		require.NoError(t, err)
		require.Equal(t, 1, n)
		n, _ = s.CountUserRooms(ctx, j("zed@localhost"))
		require.Equal(t, 0, n)
		rooms, err := s.UserRooms(ctx, j("alice@localhost"))
		require.NoError(t, err)
		require.Len(t, rooms, 1)
		require.Equal(t, "Den", rooms[0].Config["roomname"])
		rc, oc, err := s.Counts(ctx)
		require.NoError(t, err)
		require.Equal(t, [2]int{1, 2}, [2]int{rc, oc})

		// An aborted change changes nothing.
		_, _, err = s.ChangeOccupants(ctx, room, func(string, []Occupant) ([]Occupant, string, error) { return nil, "", ErrMaxOccupants })
		require.ErrorIs(t, err, ErrMaxOccupants)

		// Emptying deletes the room.
		_, _, err = s.ChangeOccupants(ctx, room, func(string, []Occupant) ([]Occupant, string, error) { return nil, "v4", nil })
		require.NoError(t, err)
		_, err = s.Get(ctx, room)
		require.ErrorIs(t, err, ErrRoomNotFound)
		rooms, _ = s.UserRooms(ctx, j("alice@localhost"))
		require.Empty(t, rooms)

		require.NoError(t, s.Create(ctx, r))
		gone, err := s.Destroy(ctx, room)
		require.NoError(t, err)
		require.Len(t, gone.Occupants, 2)
		rc, oc, _ = s.Counts(ctx)
		require.Equal(t, [2]int{0, 0}, [2]int{rc, oc})
		_, err = s.Destroy(ctx, room)
		require.ErrorIs(t, err, ErrRoomNotFound)

		// Blocklists: unique items (D9).
		u := j("bob@localhost")
		require.NoError(t, s.SetBlocklist(ctx, u, []BlockItem{{BlockUser, j("a@localhost"), true}, {BlockUser, j("a@localhost"), true}, {BlockRoom, room, true}}))
		require.NoError(t, s.SetBlocklist(ctx, u, []BlockItem{{BlockUser, j("a@localhost"), true}}))
		items, err := s.Blocklist(ctx, u)
		require.NoError(t, err)
		require.Equal(t, []BlockItem{{BlockRoom, room, true}, {BlockUser, j("a@localhost"), true}}, items)
		require.NoError(t, s.SetBlocklist(ctx, u, []BlockItem{{BlockUser, j("a@localhost"), false}}))
		items, _ = s.Blocklist(ctx, u)
		require.Len(t, items, 1)
		require.NoError(t, s.RemoveBlocklist(ctx, u))
		items, _ = s.Blocklist(ctx, u)
		require.Empty(t, items)
	})
}

// BenchmarkFanOut measures room message fan-out through the service API
// to online members (fake sessions): deliveries/s is members × messages/s.
func BenchmarkFanOut(b *testing.B) {
	for _, backend := range []string{"mem", "sqlite", "sqlite+cache"} {
		for _, n := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/members=%d", backend, n), func(b *testing.B) {
				var store Store = NewMemStore()
				opts := ""
				if backend != "mem" {
					store = NewSQLStore(dbtest.Open(b, db.SQLite))
				}
				if backend == "sqlite+cache" {
					opts = "[modules.mod_muc_light.cache_affs]\n"
				}
				m, r, _ := newTestModule(b, store, opts)
				ctx := context.Background()
				var occs []Occupant
				for i := 1; i < n; i++ {
					u := fmt.Sprintf("u%03d@localhost", i)
					r.online(u)
					occs = append(occs, Occupant{User: j(u), Aff: AffMember})
				}
				r.online("u000@localhost")
				room := j("bench@muclight.localhost")
				_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("u000@localhost"), Room: room, Occupants: occs})
				require.NoError(b, err)
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for i := 0; i < b.N; i++ {
					if _, err := m.SendMessage(ctx, room, j("u000@localhost"), "", "hello"); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/time.Since(start).Seconds(), "deliveries/s")
			})
		}
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1756000000, 0)
	m, r, _ := newTestModule(t, NewMemStore(), "[modules.mod_muc_light.cache_affs]\ntime_to_live = 2\n")
	m.cache.now = func() time.Time { return now }
	for _, u := range []string{"alice@localhost", "bob@localhost"} {
		r.online(u)
	}
	room := j("den@muclight.localhost")
	_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("alice@localhost"), Room: room, Occupants: []Occupant{{User: j("bob@localhost"), Aff: AffMember}}})
	require.NoError(t, err)
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "1")
	require.NoError(t, err)
	require.Equal(t, 1.0, counterValue(m.m.cacheHit), "creation filled the cache")
	// A removal refreshes the cache: bob cannot post any more.
	_, err = m.ChangeAffiliations(ctx, room, j("alice@localhost"), []Occupant{{User: j("bob@localhost"), Aff: AffNone}}, "")
	require.NoError(t, err)
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "2")
	require.ErrorIs(t, err, ErrNotOccupant)
	require.Equal(t, 0.0, counterValue(m.m.cacheMiss))
	// Expiry: a change made behind the module's back is seen after the TTL.
	_, _, err = m.store.ChangeOccupants(ctx, room, func(v string, cur []Occupant) ([]Occupant, string, error) {
		return append(cur, Occupant{User: j("bob@localhost"), Aff: AffMember}), v + "x", nil
	})
	require.NoError(t, err)
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "3")
	require.ErrorIs(t, err, ErrNotOccupant)
	now = now.Add(3 * time.Minute)
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "4")
	require.NoError(t, err)
	require.Equal(t, 1.0, counterValue(m.m.cacheMiss))
	// Destruction drops the entry.
	require.NoError(t, m.Destroy(ctx, room, j("alice@localhost"), ""))
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "5")
	require.ErrorIs(t, err, ErrRoomNotFound)
}

// TestCacheRefreshAhead: a cached list in use during the last stretch
// before its expiry is read again in the background, once, so a change made
// behind the module's back (another node) shows before the TTL without any
// message reading storage itself, and a room gone from storage is dropped.
func TestCacheRefreshAhead(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Unix(1756000000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	m, r, _ := newTestModule(t, NewMemStore(), "[modules.mod_muc_light.cache_affs]\ntime_to_live = 2\n")
	m.cache.now = clock
	for _, u := range []string{"alice@localhost", "bob@localhost", "carol@localhost"} {
		r.online(u)
	}
	room := j("den@muclight.localhost")
	_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("alice@localhost"), Room: room, Occupants: []Occupant{{User: j("bob@localhost"), Aff: AffMember}}})
	require.NoError(t, err)
	_, _, err = m.store.ChangeOccupants(ctx, room, func(v string, cur []Occupant) ([]Occupant, string, error) {
		return append(cur, Occupant{User: j("carol@localhost"), Aff: AffMember}), v + "x", nil
	})
	require.NoError(t, err)
	_, err = m.SendMessage(ctx, room, j("carol@localhost"), "", "1")
	require.ErrorIs(t, err, ErrNotOccupant, "the cached list does not have carol yet")

	// 100 s in (TTL 2 min, refreshed from 90 s): messages still use the
	// cached list, the first one starts one background read.
	advance(100 * time.Second)
	for i := range 3 {
		_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", fmt.Sprint("b", i))
		require.NoError(t, err)
	}
	require.Equal(t, 1.0, counterValue(m.m.cacheRefresh), "one refresh for the room")
	wait.Until(t, 5*time.Second, func() error {
		if _, err := m.SendMessage(ctx, room, j("carol@localhost"), "", "2"); err != nil {
			return fmt.Errorf("the refreshed list has carol, before the TTL: %w", err)
		}
		return nil
	})
	require.Equal(t, 0.0, counterValue(m.m.cacheMiss), "no message read storage")

	// The refreshed entry is new: 100 s later it is refreshed again, and
	// a room destroyed behind the module's back is dropped.
	_, err = m.store.Destroy(ctx, room)
	require.NoError(t, err)
	advance(100 * time.Second)
	_, err = m.SendMessage(ctx, room, j("bob@localhost"), "", "3")
	require.NoError(t, err, "still the cached list while it refreshes")
	wait.Until(t, 5*time.Second, func() error {
		if _, err := m.SendMessage(ctx, room, j("bob@localhost"), "", "4"); !errors.Is(err, ErrRoomNotFound) {
			return fmt.Errorf("bob's message: %v, want %v", err, ErrRoomNotFound)
		}
		return nil
	})
	require.Equal(t, 2.0, counterValue(m.m.cacheRefresh))
	require.NoError(t, m.Stop(context.Background()))
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

func gaugeValue(g prometheus.Gauge) float64 {
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		panic(err)
	}
	return m.GetGauge().GetValue()
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	reg := metrics.New()
	r := &fakeRouter{sessions: map[jid.JID]*fakeSession{}}
	m := started(t, Deps{Log: slog.New(slog.DiscardHandler), Store: NewMemStore(), Router: r, Hooks: &hooks.Hooks{}, Metrics: reg, Domains: []string{"localhost"}}, testOpts(t, ""))
	r.online("alice@localhost")
	room := j("den@muclight.localhost")
	_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("alice@localhost"), Room: room, Occupants: []Occupant{{User: j("bob@localhost"), Aff: AffMember}, {User: j("kate@localhost"), Aff: AffMember}}})
	require.NoError(t, err)
	require.Equal(t, 1.0, gaugeValue(m.m.rooms))
	require.Equal(t, 3.0, gaugeValue(m.m.occupants))
	_, err = m.SendMessage(ctx, room, j("alice@localhost"), "", "x")
	require.NoError(t, err)
	require.Equal(t, 1.0, counterValue(m.m.messages))
	require.Equal(t, 6.0, counterValue(m.m.fanout), "3 creation notifications + 3 copies")
	_, err = m.ChangeAffiliations(ctx, room, j("alice@localhost"), []Occupant{{User: j("kate@localhost"), Aff: AffNone}}, "")
	require.NoError(t, err)
	require.Equal(t, 2.0, gaugeValue(m.m.occupants))
	require.NoError(t, m.Destroy(ctx, room, jid.JID{}, ""))
	require.Equal(t, 0.0, gaugeValue(m.m.rooms))
	require.Equal(t, 0.0, gaugeValue(m.m.occupants))
	require.Equal(t, 1.0, counterValue(m.m.destroyed))
	// The names follow the MongooseIM convention <event>_<metric>.
	mfs, err := reg.Prometheus().Gather()
	require.NoError(t, err)
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
	}
	require.Contains(t, names, "mod_muc_light_rooms_count")
	require.Contains(t, names, "mod_muc_light_message_fanned_out_count")
}

// TestRemoveDomain is X13 (and its SQL counterpart): removing a domain
// deletes its MUC Light rooms, its users' occupancies (rooms left empty go
// too) and blocklists, with either storage.
func TestRemoveDomain(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		r := &fakeRouter{sessions: map[jid.JID]*fakeSession{}}
		opts := testOpts(t, "")
		m := started(t, Deps{Log: slog.New(slog.DiscardHandler), Store: s, Router: r, Hooks: &hooks.Hooks{}, Domains: []string{"a.test", "b.test"}}, opts)
		mk := func(room string, users ...string) {
			var occs []Occupant
			for _, u := range users[1:] {
				occs = append(occs, Occupant{User: j(u), Aff: AffMember})
			}
			_, err := m.CreateRoom(ctx, CreateRequest{Creator: j(users[0]), Room: j(room), Occupants: occs})
			require.NoError(t, err)
		}
		mk("r1@muclight.b.test", "x@a.test", "y@b.test")
		mk("r2@muclight.a.test", "x@a.test", "y@b.test")
		mk("r3@muclight.a.test", "z@b.test")
		require.NoError(t, m.SetBlocklist(ctx, j("y@b.test"), []BlockItem{{BlockUser, j("x@a.test"), true}}))
		require.NoError(t, m.SetBlocklist(ctx, j("x@a.test"), []BlockItem{{BlockUser, j("y@b.test"), true}}))

		require.NoError(t, m.RemoveDomain(ctx, "b.test"))
		require.False(t, m.IsService("muclight.b.test"))
		_, err := s.Get(ctx, j("r1@muclight.b.test"))
		require.ErrorIs(t, err, ErrRoomNotFound)
		got, err := s.Get(ctx, j("r2@muclight.a.test"))
		require.NoError(t, err)
		require.Equal(t, []Occupant{{j("x@a.test"), AffOwner}}, got.Occupants)
		_, err = s.Get(ctx, j("r3@muclight.a.test"))
		require.ErrorIs(t, err, ErrRoomNotFound, "left without occupants")
		items, _ := s.Blocklist(ctx, j("y@b.test"))
		require.Empty(t, items)
		items, _ = s.Blocklist(ctx, j("x@a.test"))
		require.Len(t, items, 1)
		n, _ := s.CountUserRooms(ctx, j("y@b.test"))
		require.Zero(t, n)
		require.Equal(t, 1.0, gaugeValue(m.m.rooms))

		m.AddDomain("c.test")
		require.True(t, m.IsService("muclight.c.test"))
	})
}

func TestListRooms(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		m, _, _ := newTestModule(t, s, "")
		for i, name := range []string{"alpha", "beta", "gamma", "delta"} {
			occs := []Occupant{}
			for k := 0; k < i; k++ {
				occs = append(occs, Occupant{User: j(fmt.Sprintf("u%d@localhost", k)), Aff: AffMember})
			}
			_, err := m.CreateRoom(ctx, CreateRequest{Creator: j("owner@localhost"), Room: j(name + "@muclight.localhost"),
				Config: []KV{{"roomname", "Room " + strings.ToUpper(name)}}, Occupants: occs})
			require.NoError(t, err)
		}
		locals := func(ds []RoomDesc) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.JID.Local())
			}
			return out
		}
		page, count, more, err := m.ListRooms(ctx, "muclight.localhost", "", "", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"alpha", "beta"}, locals(page))
		require.Equal(t, 4, count)
		require.True(t, more)
		require.Equal(t, 2, page[1].UsersNumber)
		require.Equal(t, "Room BETA", *page[1].Name)
		require.Equal(t, "", *page[1].Subject)
		page, count, more, err = m.ListRooms(ctx, "muclight.localhost", "", "beta", 2)
		require.NoError(t, err)
		require.Equal(t, []string{"delta", "gamma"}, locals(page))
		require.Equal(t, 4, count)
		require.False(t, more)
		// Case-insensitive on the localpart or the name.
		page, count, _, err = m.ListRooms(ctx, "muclight.localhost", "ELT", "", 0)
		require.NoError(t, err)
		require.Equal(t, []string{"delta"}, locals(page))
		require.Equal(t, 1, count)
		page, _, _, err = m.ListRooms(ctx, "muclight.localhost", "room g", "", 0)
		require.NoError(t, err)
		require.Equal(t, []string{"gamma"}, locals(page))
		_, _, _, err = m.ListRooms(ctx, "muc.localhost", "", "", 0)
		require.ErrorIs(t, err, ErrNoService)
	})
}
