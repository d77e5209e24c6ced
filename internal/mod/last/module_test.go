package last

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/iq"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// fakeRouter serves two domains and knows which users are online.
type fakeRouter struct {
	mu     sync.Mutex
	online map[jid.JID]bool
}

type fakeSession struct {
	router.Session // the methods the module does not use (calling one panics)
	j              jid.JID
}

func (s fakeSession) JID() jid.JID                                             { return s.j }
func (fakeSession) Send(*xmlstream.Element) bool                               { return true }
func (fakeSession) Presence() (bool, int)                                      { return true, 0 }
func (fakeSession) Replaced()                                                  {}
func (r *fakeRouter) IsLocal(d string) bool                                    { return d == "localhost" || d == "other.com" }
func (r *fakeRouter) Domains() []string                                        { return []string{"localhost", "other.com"} }
func (r *fakeRouter) Bounce(context.Context, *xmlstream.Element, stanza.Error) {}
func (r *fakeRouter) Sessions(bare jid.JID) []router.Session {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.online[bare.Bare()] {
		return []router.Session{fakeSession{j: bare}}
	}
	return nil
}

// fakeAccounts is a set of accounts whose removal fires UserRemoved.
type fakeAccounts struct {
	mu    sync.Mutex
	users map[jid.JID]bool
	hooks *hooks.Hooks
}

func (a *fakeAccounts) UserExists(_ context.Context, server, username string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[jid.MustParse(username+"@"+server)], nil
}

func (a *fakeAccounts) ListUsers(_ context.Context, server string) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for u := range a.users {
		if u.Domain() == server {
			out = append(out, u.Local())
		}
	}
	return out, nil
}

func (a *fakeAccounts) RemoveUser(ctx context.Context, u jid.JID) error {
	a.mu.Lock()
	delete(a.users, u)
	a.mu.Unlock()
	a.hooks.UserRemoved.Run(ctx, &hooks.UserEvent{User: u})
	return nil
}

type fixture struct {
	m     *Module
	r     *fakeRouter
	acc   *fakeAccounts
	hooks *hooks.Hooks
	reg   *metrics.Registry
	now   time.Time
}

func (f *fixture) add(users ...string) {
	f.acc.mu.Lock()
	defer f.acc.mu.Unlock()
	for _, u := range users {
		f.acc.users[jid.MustParse(u)] = true
	}
}

func newFixture(t testing.TB, s Store) *fixture {
	h := &hooks.Hooks{}
	f := &fixture{r: &fakeRouter{online: map[jid.JID]bool{}}, acc: &fakeAccounts{users: map[jid.JID]bool{}, hooks: h},
		hooks: h, reg: metrics.New(), now: time.Unix(1_700_000_000, 0)}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	reg := iq.NewRegistry(log)
	t.Cleanup(reg.Close)
	m, err := New(Deps{Log: log, Store: s, Router: f.r, Hooks: h, IQ: reg, Accounts: f.acc, Metrics: f.reg,
		Started: f.now.Add(-time.Hour), Now: func() time.Time { return f.now }},
		config.ModLast{IQDisc: config.IQDisc{Type: "no_queue"}, Backend: s.Backend()})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, m.Stop(context.Background())) })
	f.m = m
	return f
}

func codeOf(t *testing.T, err error) string {
	t.Helper()
	var e *Error
	require.True(t, errors.As(err, &e), "an *Error: %v", err)
	return e.Code
}

func TestServiceGetSetValidation(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		f.add("alice@localhost")

		_, err := f.m.SetLast(ctx, "user@user.com", time.Time{}, "x")
		require.ErrorIs(t, err, ErrUserNotFound)
		require.Equal(t, "User user@user.com does not exist", err.Error())
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, CodeUserNotFound, e.Code)
		require.Equal(t, "user", e.Key)
		require.Equal(t, "user@user.com", e.Value)

		_, err = f.m.GetLast(ctx, "bob@localhost")
		require.ErrorIs(t, err, ErrUserNotFound)
		_, err = f.m.GetLast(ctx, "@localhost")
		require.ErrorIs(t, err, ErrInvalidJID)
		_, err = f.m.SetLast(ctx, "@localhost", time.Time{}, "")
		require.ErrorIs(t, err, ErrInvalidJID)

		_, err = f.m.GetLast(ctx, "alice@localhost")
		require.ErrorIs(t, err, ErrLastNotFound)
		require.Equal(t, CodeLastNotFound, codeOf(t, err))
		require.Equal(t, "Given user's last info not found", err.Error())

		ts := time.Date(2022, 4, 17, 12, 58, 30, 999_000, time.UTC)
		a, err := f.m.SetLast(ctx, "Alice@localhost/res", ts, "First status")
		require.NoError(t, err)
		require.Equal(t, "alice@localhost/res", a.User.String())
		require.Equal(t, ts.Truncate(time.Second), a.Timestamp)
		got, err := f.m.GetLast(ctx, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, Activity{User: jid.MustParse("alice@localhost"), Timestamp: ts.Truncate(time.Second), Status: "First status"}, got)

		// Without a timestamp: now. Online state is not consulted.
		f.r.online[jid.MustParse("alice@localhost")] = true
		a, err = f.m.SetLast(ctx, "alice@localhost", time.Time{}, "")
		require.NoError(t, err)
		require.Equal(t, f.now.UTC(), a.Timestamp)
		got, err = f.m.GetLast(ctx, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, f.now.Unix(), got.Timestamp.Unix())
	})
}

func TestServiceCountListRemove(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		now := f.now
		f.add("alice@localhost", "bob@localhost", "alicebis@other.com", "carol@localhost", "dave@localhost")
		set := func(u string, d time.Duration) {
			_, err := f.m.SetLast(ctx, u, now.Add(d), "")
			require.NoError(t, err)
		}

		_, err := f.m.CountActiveUsers(ctx, "unknown.com", time.Time{})
		require.ErrorIs(t, err, ErrDomainNotFound)
		require.Equal(t, CodeDomainNotFound, codeOf(t, err))
		require.Equal(t, "Domain not found", err.Error())
		_, err = f.m.ListOldUsers(ctx, "unknown.com", now)
		require.ErrorIs(t, err, ErrDomainNotFound)
		_, err = f.m.RemoveOldUsers(ctx, "unknown.com", now)
		require.ErrorIs(t, err, ErrDomainNotFound)

		set("alice@localhost", 5*time.Second)
		set("bob@localhost", 10*time.Second)
		n, err := f.m.CountActiveUsers(ctx, "localhost", time.Time{})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		n, err = f.m.CountActiveUsers(ctx, "LOCALHOST", time.Time{})
		require.NoError(t, err)
		require.Equal(t, 2, n)
		n, _ = f.m.CountActiveUsers(ctx, "localhost", now.Add(30*time.Second))
		require.Equal(t, 0, n)

		set("alice@localhost", 200*time.Second)
		set("bob@localhost", 100*time.Second)
		set("alicebis@other.com", 100*time.Second)
		f.r.online[jid.MustParse("dave@localhost")] = true // online: never old
		names := func(us []OldUser) []string {
			var out []string
			for _, u := range us {
				ts := "null"
				if u.Timestamp != nil {
					ts = fmt.Sprint(int64(u.Timestamp.Sub(now) / time.Second))
				}
				out = append(out, u.JID.String()+"="+ts)
			}
			sort.Strings(out)
			return out
		}
		old, err := f.m.ListOldUsers(ctx, "localhost", now.Add(150*time.Second))
		require.NoError(t, err)
		require.Equal(t, []string{"bob@localhost=100", "carol@localhost=null"}, names(old))
		old, err = f.m.ListOldUsers(ctx, "", now.Add(150*time.Second))
		require.NoError(t, err)
		require.Equal(t, []string{"alicebis@other.com=100", "bob@localhost=100", "carol@localhost=null"}, names(old))

		old, err = f.m.RemoveOldUsers(ctx, "", now.Add(150*time.Second))
		require.NoError(t, err)
		require.Len(t, old, 3)
		_, err = f.m.GetLast(ctx, "bob@localhost")
		require.ErrorIs(t, err, ErrUserNotFound)
		_, ok, err := s.Get(ctx, Key{"localhost", "bob"})
		require.NoError(t, err)
		require.False(t, ok, "the removal hook deleted the record")
		a, err := f.m.GetLast(ctx, "alice@localhost")
		require.NoError(t, err)
		require.Equal(t, now.Add(200*time.Second).Unix(), a.Timestamp.Unix())
		old, err = f.m.ListOldUsers(ctx, "", now.Add(150*time.Second))
		require.NoError(t, err)
		require.Empty(t, old)
	})
}

// TestNodeCleanup is spec/last.md §8.1's node cleanup: 345 sessions (some
// users with several resources); a user with an old record gets the
// cleanup time and an empty status.
func TestNodeCleanup(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		f := newFixture(t, s)
		ctx := context.Background()
		f.add("old@localhost")
		_, err := f.m.SetLast(ctx, "old@localhost", time.Unix(1000, 0), "long ago")
		require.NoError(t, err)
		var sessions []jid.JID
		sessions = append(sessions, jid.MustParse("old@localhost/r1"), jid.MustParse("old@localhost/r2"))
		for i := range 343 {
			sessions = append(sessions, jid.MustParse(fmt.Sprintf("u%d@localhost/r", i%300)))
		}
		f.now = f.now.Add(time.Minute)
		require.NoError(t, f.m.CleanupSessions(ctx, sessions))
		r, ok, err := s.Get(ctx, Key{"localhost", "old"})
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, Record{f.now.Unix(), ""}, r)
		dom, err := s.Domain(ctx, "localhost")
		require.NoError(t, err)
		require.Len(t, dom, 301)
		require.Equal(t, 345.0, counterValue(t, f.reg, "mod_last_"+s.Backend()+"_count", "session_cleanup"))
	})
}

// TestDisconnectSpike drives 5,000 sessions ending at once through the
// presence hook with a real database, and shows that the database saw far
// fewer write statements than disconnects, with every record right.
func TestDisconnectSpike(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		s := NewSQLStore(d)
		f := newFixture(t, s)
		const users, workers = 5000, 50
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < users; i += workers {
					u := jid.MustParse(fmt.Sprintf("user%d@localhost/res", i))
					ev := &hooks.SessionEvent{JID: u, Status: "first"}
					f.hooks.PresenceUnavailable.Run(context.Background(), ev)
					if i%5 == 0 { // a second resource of every fifth user goes too
						ev = &hooks.SessionEvent{JID: u, Status: fmt.Sprintf("bye %d", i)}
						f.hooks.PresenceUnavailable.Run(context.Background(), ev)
					}
				}
			}()
		}
		wg.Wait()
		require.NoError(t, f.m.Sync(context.Background()))
		events := counterValue(t, f.reg, "mod_last_rdbms_count", "set_last_info")
		require.Equal(t, float64(users+users/5), events)
		statements := gauge(t, f.reg, "mod_last_rdbms_write_statements_count")
		flushes := gauge(t, f.reg, "async_pool_request_count")
		t.Logf("%v disconnect events, %v flushes, %v write statements", events, flushes, statements)
		require.Less(t, statements, events/10, "far fewer statements than disconnects")

		dom, err := s.Domain(context.Background(), "localhost")
		require.NoError(t, err)
		require.Len(t, dom, users)
		for i := range users {
			want := Record{f.now.Unix(), "first"}
			if i%5 == 0 {
				want.Status = fmt.Sprintf("bye %d", i)
			}
			require.Equal(t, want, dom[fmt.Sprintf("user%d", i)], "user%d", i)
		}
	})
}

func counterValue(t *testing.T, reg *metrics.Registry, name, function string) float64 {
	t.Helper()
	mfs, err := reg.Prometheus().Gather()
	require.NoError(t, err)
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "function" && l.GetValue() == function {
					sum += m.GetCounter().GetValue()
				}
			}
		}
	}
	return sum
}

// gauge sums a counter or gauge over all its labels.
func gauge(t *testing.T, reg *metrics.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Prometheus().Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			sum := 0.0
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
			return sum
		}
	}
	t.Fatalf("metric %s not found", name)
	return 0
}
