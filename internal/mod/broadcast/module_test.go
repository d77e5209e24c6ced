package broadcast

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// sink is a Router that records what it is given; fail makes the routes to
// the listed recipients fail.
type sink struct {
	mu   sync.Mutex
	got  map[string][]*xmlstream.Element // by recipient bare JID
	n    atomic.Int64
	fail map[string]bool
}

func newSink() *sink { return &sink{got: map[string][]*xmlstream.Element{}} }

func (s *sink) Route(_ context.Context, from, to jid.JID, el *xmlstream.Element) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail[to.String()] {
		return errors.New("no route")
	}
	s.got[to.String()] = append(s.got[to.String()], el)
	s.n.Add(1)
	return nil
}

func (s *sink) count(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got[to])
}

// env is a database with accounts in two domains and modules over it.
type env struct {
	t     *testing.T
	d     *db.DB
	store *SQLStore
	users *auth.SQLStore
	cred  auth.Credentials
}

func newEnv(t *testing.T, d *db.DB) *env {
	c, err := auth.NewCredentials("pw", 1)
	require.NoError(t, err)
	return &env{t: t, d: d, store: NewSQLStore(d), users: auth.NewSQLStore(d), cred: c}
}

// addUsers creates user0001..userN in domain (plus the given names).
func (e *env) addUsers(domain string, n int, names ...string) {
	e.t.Helper()
	for i := 1; i <= n; i++ {
		names = append(names, fmt.Sprintf("user%04d", i))
	}
	for _, u := range names {
		require.NoError(e.t, e.users.CreateUser(context.Background(), domain, u, e.cred, time.Now()))
	}
}

type modOpts struct {
	node   string
	lease  time.Duration
	store  Store
	router Router
	batch  int
}

// module starts a module for hosts localhost and other.org.
func (e *env) module(o modOpts) (*Module, *metrics.Registry) {
	e.t.Helper()
	if o.node == "" {
		o.node = "gander@a"
	}
	if o.store == nil {
		o.store = e.store
	}
	if o.router == nil {
		o.router = newSink()
	}
	reg := metrics.New()
	m, err := New(Options{Node: o.node, LeaseTime: o.lease, Domains: map[string]string{"localhost": "localhost", "other.org": "other.org"},
		Store: o.store, Accounts: e.users, Router: o.router, Metrics: reg, HeartbeatInterval: 200 * time.Millisecond})
	require.NoError(e.t, err)
	if o.batch > 0 {
		m.batchSeconds = o.batch
	}
	require.NoError(e.t, m.Start(context.Background()))
	e.t.Cleanup(func() { m.Stop(context.Background()) })
	return m, reg
}

func req(mods ...func(*StartRequest)) StartRequest {
	r := StartRequest{Name: "maint", Domain: "localhost", Subject: "S", Body: "B",
		Sender: jid.MustParse("alice@localhost"), MessageRate: 1000, RecipientGroup: RecipientGroupAllUsers}
	for _, f := range mods {
		f(&r)
	}
	return r
}

func code(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprintf("not an *Error: %v", err)
}

// waitCounter waits until the localhost counter name of reg is want: a
// worker counts a job's end after storing it, so a test that has seen the
// stored state polls for the count.
func waitCounter(t *testing.T, reg *metrics.Registry, name string, want float64) {
	t.Helper()
	wait.Until(t, 5*time.Second, func() error {
		if got := testutil.ToFloat64(reg.Counter(name, "count", "host_type").WithLabelValues("localhost")); got != want {
			return fmt.Errorf("%s = %v, want %v", name, got, want)
		}
		return nil
	})
}

func waitState(t *testing.T, m *Module, id int64, st State) Job {
	t.Helper()
	var j Job
	wait.Until(t, 20*time.Second, func() error {
		var err error
		if j, err = m.GetBroadcast(context.Background(), "localhost", id); err != nil {
			return err
		}
		if j.State != st {
			return fmt.Errorf("state %s, processed %d", j.State, j.RecipientsProcessed)
		}
		return nil
	})
	return j
}

func TestStartValidation(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 5, "alice")
		e.addUsers("other.org", 0, "carol")
		m, _ := e.module(modOpts{})
		ctx := context.Background()
		// Each case breaks one rule; where several are broken the first
		// in spec §5.1's order wins.
		cases := []struct {
			name string
			r    StartRequest
			code string
			p    string
		}{
			{"unknown domain", req(func(r *StartRequest) { r.Domain = "nowhere.example" }), "domain_not_found", ""},
			{"rate 0", req(func(r *StartRequest) { r.MessageRate = 0 }), "bad_parameter", "message_rate"},
			{"rate -1", req(func(r *StartRequest) { r.MessageRate = -1 }), "bad_parameter", "message_rate"},
			{"rate 1001", req(func(r *StartRequest) { r.MessageRate = 1001 }), "bad_parameter", "message_rate"},
			{"rate 9999 before bad sender", req(func(r *StartRequest) { r.MessageRate = 9999; r.Sender = jid.MustParse("nobody@localhost") }), "bad_parameter", "message_rate"},
			{"sender of another domain", req(func(r *StartRequest) { r.Sender = jid.MustParse("carol@other.org") }), "sender_not_found", ""},
			{"no such sender", req(func(r *StartRequest) { r.Sender = jid.MustParse("nobody@localhost") }), "sender_not_found", ""},
			{"sender before name", req(func(r *StartRequest) { r.Sender = jid.MustParse("nobody@localhost"); r.Name = "" }), "sender_not_found", ""},
			{"empty name", req(func(r *StartRequest) { r.Name = "" }), "bad_parameter", "name"},
			{"name 251", req(func(r *StartRequest) { r.Name = strings.Repeat("a", 251) }), "bad_parameter", "name"},
			{"name before subject", req(func(r *StartRequest) { r.Name = ""; r.Subject = strings.Repeat("a", 1025) }), "bad_parameter", "name"},
			{"subject 1025", req(func(r *StartRequest) { r.Subject = strings.Repeat("a", 1025) }), "bad_parameter", "subject"},
			{"subject before body", req(func(r *StartRequest) { r.Subject = strings.Repeat("a", 1025); r.Body = "" }), "bad_parameter", "subject"},
			{"empty body", req(func(r *StartRequest) { r.Body = "" }), "bad_parameter", "body"},
			{"body 16001", req(func(r *StartRequest) { r.Body = strings.Repeat("a", 16001) }), "bad_parameter", "body"},
			// Grapheme clusters, not bytes or code points: "é" as e +
			// U+0301 is one character.
			{"name 251 graphemes", req(func(r *StartRequest) { r.Name = strings.Repeat("e\u0301", 251) }), "bad_parameter", "name"},
		}
		for _, c := range cases {
			_, err := m.StartBroadcast(ctx, c.r)
			require.Equal(t, c.code, code(err), c.name)
			if c.p != "" {
				var be *Error
				require.ErrorAs(t, err, &be)
				require.Equal(t, c.p, be.Param, c.name)
				require.Equal(t, "Invalid parameter: "+c.p, be.Message, c.name)
				require.ErrorIs(t, err, ErrBadParameter)
			}
		}
		// Messages are the catalogue's.
		_, err := m.StartBroadcast(ctx, req(func(r *StartRequest) { r.Sender = jid.MustParse("nobody@localhost") }))
		require.EqualError(t, err, "Sender account does not exist")

		// Boundaries accepted; each job is aborted so that the next may run.
		ok := []func(*StartRequest){
			func(r *StartRequest) { r.Name = "a" },
			func(r *StartRequest) { r.Name = strings.Repeat("a", 250) },
			func(r *StartRequest) { r.Name = strings.Repeat("e\u0301", 250) },
			func(r *StartRequest) { r.Subject = "" },
			func(r *StartRequest) { r.Subject = strings.Repeat("a", 1024) },
			func(r *StartRequest) { r.Body = "a" },
			func(r *StartRequest) { r.Body = strings.Repeat("a", 16000) },
			func(r *StartRequest) { r.MessageRate = 1 },
		}
		for i, f := range ok {
			id, err := m.StartBroadcast(ctx, req(f, func(r *StartRequest) { r.MessageRate = 1 }))
			require.NoError(t, err, "case %d", i)
			_, err = m.AbortBroadcast(ctx, "localhost", id)
			require.NoError(t, err)
		}

		// Safety mode comes before everything else.
		mg := m.managers["localhost"]
		mg.mu.Lock()
		mg.emergency = true
		mg.mu.Unlock()
		_, err = m.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 0 }))
		require.Equal(t, "temporarily_unavailable", code(err))
		mg.mu.Lock()
		mg.emergency = false
		mg.mu.Unlock()
	})
}

func TestNoRecipientsAndCountFailure(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		m, _ := e.module(modOpts{})
		// An empty domain has no sender either, so count with a stub.
		m.accounts = stubAccounts{n: 0}
		_, err := m.StartBroadcast(context.Background(), req())
		require.Equal(t, "no_recipients", code(err))
		m.accounts = stubAccounts{err: errors.New("db down")}
		_, err = m.StartBroadcast(context.Background(), req())
		require.Equal(t, "internal_error", code(err))
		require.ErrorIs(t, err, errCannotCountRecipients)
		// Nothing was created.
		js, err := m.GetBroadcasts(context.Background(), "localhost", 0, 0)
		require.NoError(t, err)
		require.Empty(t, js)
	})
}

type stubAccounts struct {
	n   int
	err error
}

func (s stubAccounts) UserExists(context.Context, string, string) (bool, error) { return true, nil }
func (s stubAccounts) CountUsers(context.Context, string) (int, error)          { return s.n, s.err }

func TestJobLifecycle(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 30, "alice")
		e.addUsers("other.org", 2, "carol")
		r := newSink()
		r.fail = map[string]bool{"user0007@localhost": true}
		m, reg := e.module(modOpts{router: r, batch: 1}) // batches of 10 at rate 10... see below
		ctx := context.Background()
		id, err := m.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 1000; r.Subject = "" }))
		require.NoError(t, err)
		require.Positive(t, id)
		j := waitState(t, m, id, StateFinished)
		require.Equal(t, 31, j.RecipientCount)
		require.Equal(t, 31, j.RecipientsProcessed)
		require.Equal(t, "gander@a", j.OwnerNode, "the last owner stays visible")
		require.NotNil(t, j.StartedAt)
		require.NotNil(t, j.StoppedAt)
		require.Empty(t, j.AbortionReason)
		require.Equal(t, j.CreatedAt, j.CreatedAt.Truncate(time.Second))
		// Everyone but the failing recipient got exactly one message, the
		// sender included; the other domain got nothing.
		for i := 1; i <= 30; i++ {
			want := 1
			if i == 7 {
				want = 0
			}
			require.Equal(t, want, r.count(fmt.Sprintf("user%04d@localhost", i)))
		}
		require.Equal(t, 1, r.count("alice@localhost"))
		require.Equal(t, 0, r.count("carol@other.org"))
		el := r.got["user0001@localhost"][0]
		wantID := MessageID(id, "user0001@localhost")
		require.Equal(t, fmt.Sprintf(`<message xmlns="jabber:client" type="chat" id="%s" to="user0001@localhost" from="alice@localhost"><subject/><body>B</body><origin-id xmlns="urn:xmpp:sid:0" id="%s"/></message>`, wantID, wantID), el.String())

		// Ownership record gone.
		var n int
		require.NoError(t, d.QueryRowContext(ctx, `SELECT COUNT(*) FROM broadcast_ownership WHERE job_id = ?`, id).Scan(&n))
		require.Zero(t, n)

		waitCounter(t, reg, "mod_broadcast_jobs_finished", 1)
		for name, want := range map[string]float64{
			"mod_broadcast_jobs_started": 1, "mod_broadcast_jobs_finished": 1,
			"mod_broadcast_jobs_aborted_admin": 0, "mod_broadcast_jobs_aborted_error": 0,
		} {
			require.Equal(t, want, testutil.ToFloat64(reg.Counter(name, "count", "host_type").WithLabelValues("localhost")), name)
		}
		for name, want := range map[string]float64{
			"mod_broadcast_recipients_processed": 31, "mod_broadcast_recipients_success": 30, "mod_broadcast_recipients_skipped": 1,
		} {
			require.Equal(t, want, testutil.ToFloat64(reg.Spiral(name, "count", "host_type").WithLabelValues("localhost")), name)
		}
		wait.Until(t, 5*time.Second, func() error {
			if v := testutil.ToFloat64(reg.Gauge("mod_broadcast_live_jobs", "count", "host_type").WithLabelValues("localhost")); v != 0 {
				return fmt.Errorf("live jobs %v", v)
			}
			return nil
		})
		// Backend metrics: one batch (saved before loading) and the final
		// save; the job was read at launch and by the polling above.
		rdbms := reg.Counter("mod_broadcast_rdbms", "count", "function", "host_type")
		require.Equal(t, 2.0, testutil.ToFloat64(rdbms.WithLabelValues("update_worker_state", "localhost")))
		require.GreaterOrEqual(t, testutil.ToFloat64(rdbms.WithLabelValues("get_job", "localhost")), 2.0)
		require.Equal(t, 2, testutil.CollectAndCount(reg.Histogram("mod_broadcast_rdbms", "time", "function", "host_type")))
	})
}

func TestRunningJobLimit(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 5, "alice")
		e.addUsers("other.org", 5, "carol")
		m, reg := e.module(modOpts{})
		ctx := context.Background()
		slow := func(r *StartRequest) { r.MessageRate = 1 }
		id1, err := m.StartBroadcast(ctx, req(slow))
		require.NoError(t, err)
		_, err = m.StartBroadcast(ctx, req(slow))
		require.Equal(t, "running_job_limit_exceeded", code(err))
		require.EqualError(t, err, "Cannot start new broadcast job: running job limit exceeded")
		// Another domain of the module may run at the same time.
		id2, err := m.StartBroadcast(ctx, req(slow, func(r *StartRequest) {
			r.Domain = "other.org"
			r.Sender = jid.MustParse("carol@other.org")
		}))
		require.NoError(t, err)
		require.NotEqual(t, id1, id2)
		wait.Until(t, 5*time.Second, func() error {
			if n := len(m.WorkerStates()); n != 2 {
				return fmt.Errorf("%d workers", n)
			}
			return nil
		})
		require.Equal(t, 1.0, testutil.ToFloat64(reg.Gauge("mod_broadcast_live_jobs", "count", "host_type").WithLabelValues("localhost")))
	})
}

// TestConcurrentStartsAcrossNodes races starts on two nodes: the database
// lets exactly one job run.
func TestConcurrentStartsAcrossNodes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 3, "alice")
		a, _ := e.module(modOpts{node: "gander@a"})
		b, _ := e.module(modOpts{node: "gander@b"})
		var wg sync.WaitGroup
		var ok, limited atomic.Int32
		for i := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m := a
				if i%2 == 1 {
					m = b
				}
				_, err := m.StartBroadcast(context.Background(), req(func(r *StartRequest) { r.MessageRate = 1 }))
				switch code(err) {
				case "running_job_limit_exceeded":
					limited.Add(1)
				default:
					if err == nil {
						ok.Add(1)
					} else {
						t.Errorf("start: %v", err)
					}
				}
			}()
		}
		wg.Wait()
		require.Equal(t, int32(1), ok.Load())
		require.Equal(t, int32(7), limited.Load())
	})
}

func TestGetListAndDelete(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 3, "alice")
		e.addUsers("other.org", 3, "carol")
		m, _ := e.module(modOpts{})
		ctx := context.Background()

		js, err := m.GetBroadcasts(ctx, "localhost", 0, 0)
		require.NoError(t, err)
		require.Equal(t, []Job{}, js)
		ids, err := m.DeleteInactiveBroadcastsByDomain(ctx, "localhost")
		require.NoError(t, err)
		require.Equal(t, []int64{}, ids)

		slow := func(r *StartRequest) { r.MessageRate = 1 }
		var jobs []int64
		for i := range 3 {
			id, err := m.StartBroadcast(ctx, req(slow, func(r *StartRequest) { r.Name = fmt.Sprint("job", i) }))
			require.NoError(t, err)
			jobs = append(jobs, id)
			if i < 2 {
				_, err = m.AbortBroadcast(ctx, "localhost", id)
				require.NoError(t, err)
			}
		}
		j1, j2, j3 := jobs[0], jobs[1], jobs[2]
		other, err := m.StartBroadcast(ctx, req(func(r *StartRequest) {
			r.Domain, r.Sender, r.MessageRate = "other.org", jid.MustParse("carol@other.org"), 1
		}))
		require.NoError(t, err)

		listIDs := func(limit, index int) []int64 {
			js, err := m.GetBroadcasts(ctx, "localhost", limit, index)
			require.NoError(t, err)
			var out []int64
			for _, j := range js {
				out = append(out, j.ID)
			}
			return out
		}
		require.Equal(t, []int64{j3, j2, j1}, listIDs(100, 0))
		require.Equal(t, []int64{j3, j2}, listIDs(2, 0))
		require.Equal(t, []int64{j2, j1}, listIDs(100, 1))
		require.Equal(t, []int64{j3}, listIDs(1, 0))
		require.Equal(t, []int64{j2}, listIDs(1, 1))

		// A running job's fields.
		j, err := m.GetBroadcast(ctx, "localhost", j3)
		require.NoError(t, err)
		require.Equal(t, "job2", j.Name)
		require.Equal(t, "localhost", j.Domain)
		require.Equal(t, "alice@localhost", j.Sender)
		require.Equal(t, "S", j.Subject)
		require.Equal(t, "B", j.Body)
		require.Equal(t, 1, j.MessageRate)
		require.Equal(t, StateRunning, j.State)
		require.Equal(t, "gander@a", j.OwnerNode)
		require.Equal(t, RecipientGroupAllUsers, j.RecipientGroup)
		require.Equal(t, 4, j.RecipientCount)
		require.False(t, j.CreatedAt.IsZero())
		require.Nil(t, j.StoppedAt)
		require.Empty(t, j.AbortionReason)
		// An aborted one.
		j, err = m.GetBroadcast(ctx, "localhost", j1)
		require.NoError(t, err)
		require.Equal(t, StateAbortAdmin, j.State)
		require.NotNil(t, j.StartedAt)
		require.NotNil(t, j.StoppedAt)
		require.Equal(t, "gander@a", j.OwnerNode)

		// Not found: other domain's id, missing id, unknown domain.
		_, err = m.GetBroadcast(ctx, "localhost", other)
		require.Equal(t, "broadcast_not_found", code(err))
		_, err = m.GetBroadcast(ctx, "localhost", 999999)
		require.Equal(t, "broadcast_not_found", code(err))
		for _, f := range []func() error{
			func() error { _, err := m.GetBroadcast(ctx, "nowhere", 1); return err },
			func() error { _, err := m.GetBroadcasts(ctx, "nowhere", 1, 0); return err },
			func() error { _, err := m.AbortBroadcast(ctx, "nowhere", 1); return err },
			func() error { _, err := m.DeleteInactiveBroadcastsByIds(ctx, "nowhere", []int64{1}); return err },
			func() error { _, err := m.DeleteInactiveBroadcastsByDomain(ctx, "nowhere"); return err },
		} {
			require.Equal(t, "domain_not_found", code(f()))
		}

		// Abort rules.
		_, err = m.AbortBroadcast(ctx, "localhost", j1)
		require.Equal(t, "not_running", code(err))
		_, err = m.AbortBroadcast(ctx, "localhost", 999999)
		require.Equal(t, "broadcast_not_found", code(err))
		_, err = m.AbortBroadcast(ctx, "localhost", other)
		require.Equal(t, "broadcast_not_found", code(err))

		// Delete by ids: running, inactive, missing, other domain's.
		ids, err = m.DeleteInactiveBroadcastsByIds(ctx, "localhost", []int64{j3, j2, 999999, other})
		require.NoError(t, err)
		require.Equal(t, []int64{j2}, ids)
		_, err = m.GetBroadcast(ctx, "localhost", j2)
		require.Equal(t, "broadcast_not_found", code(err))
		_, err = m.GetBroadcast(ctx, "localhost", j3)
		require.NoError(t, err, "the running job is still there")
		// Delete by domain: only the inactive ones.
		ids, err = m.DeleteInactiveBroadcastsByDomain(ctx, "localhost")
		require.NoError(t, err)
		require.Equal(t, []int64{j1}, ids)
		require.Equal(t, []int64{j3}, listIDs(100, 0))
		// Worker state and ownership rows went with the job.
		var n int
		require.NoError(t, d.QueryRowContext(ctx, `SELECT COUNT(*) FROM broadcast_worker_state WHERE job_id IN (?, ?)`, j1, j2).Scan(&n))
		require.Zero(t, n)
	})
}

func TestSnapshotAndPaging(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 0, "d", "b", "a", "e", "c", "B")
		ctx := context.Background()
		id, err := e.store.CreateJob(ctx, newJob{Name: "n", Domain: "localhost", HostType: "localhost",
			Sender: "a@localhost", Body: "b", MessageRate: 1, RecipientCount: 6}, "gander@a", time.Minute)
		require.NoError(t, err)
		j, err := e.store.GetJob(ctx, id)
		require.NoError(t, err)
		// Created after the job: not a recipient.
		e.addUsers("localhost", 0, "late")
		var all []string
		cursor := ""
		for {
			page, next, err := e.store.LoadRecipients(ctx, "localhost", j.snapshot, cursor, 4)
			require.NoError(t, err)
			all = append(all, page...)
			if next == "" {
				break
			}
			require.Len(t, page, 4)
			cursor = next
		}
		require.Equal(t, []string{"B", "a", "b", "c", "d", "e"}, all, "byte order, snapshot only")
	})
}

// failing wraps a store so that tests can take "the database" away from
// one node.
type failing struct {
	Store
	down atomic.Bool
	// syncsRefused counts the sync cycles (TakeExpiredLeases, their first
	// step) refused while down: the manager's clock in safety mode.
	syncsRefused atomic.Int64
}

var errDown = errors.New("database unreachable")

func (f *failing) TakeExpiredLeases(ctx context.Context, ht, node string, lease time.Duration) ([]int64, error) {
	if f.down.Load() {
		f.syncsRefused.Add(1)
		return nil, errDown
	}
	return f.Store.TakeExpiredLeases(ctx, ht, node, lease)
}

func (f *failing) SaveWorkerState(ctx context.Context, id int64, node string, ws WorkerState) (bool, error) {
	if f.down.Load() {
		return false, errDown
	}
	return f.Store.SaveWorkerState(ctx, id, node, ws)
}

func TestSafetyModePausesAndResumes(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 40, "alice")
		st := &failing{Store: e.store}
		r := newSink()
		m, _ := e.module(modOpts{store: st, router: r, lease: time.Second, batch: 100})
		ctx := context.Background()
		id, err := m.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 10 }))
		require.NoError(t, err)
		wait.Until(t, 5*time.Second, func() error {
			if r.n.Load() < 2 {
				return errors.New("not sending yet")
			}
			return nil
		})
		st.down.Store(true)
		wait.Until(t, 5*time.Second, func() error {
			if !m.SafetyMode("localhost") || m.WorkerStates()[id] != workerPaused {
				return fmt.Errorf("safety %v, workers %v", m.SafetyMode("localhost"), m.WorkerStates())
			}
			return nil
		})
		_, err = m.StartBroadcast(ctx, req())
		require.Equal(t, "temporarily_unavailable", code(err))
		// Paused: nothing more is sent, checked across five more sync
		// cycles, which safety mode runs lease/10 = 100 ms apart (four send
		// periods at 10 msg/s): the manager's retries are the clock.
		sent := r.n.Load()
		since := st.syncsRefused.Load()
		wait.Until(t, 5*time.Second, func() error {
			if n := st.syncsRefused.Load() - since; n < 5 {
				return fmt.Errorf("%d sync cycles since the pause, want 5", n)
			}
			return nil
		})
		require.Equal(t, sent, r.n.Load(), "a paused worker sends nothing")
		require.Equal(t, workerPaused, m.WorkerStates()[id])
		// Reads still work while the database is back only for them.
		_, err = m.GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)

		st.down.Store(false)
		wait.Until(t, 5*time.Second, func() error {
			if m.SafetyMode("localhost") || m.WorkerStates()[id] != workerSending {
				return fmt.Errorf("safety %v, workers %v", m.SafetyMode("localhost"), m.WorkerStates())
			}
			return nil
		})
		wait.Until(t, 5*time.Second, func() error {
			if r.n.Load() <= sent {
				return errors.New("not sending after resume")
			}
			return nil
		})
		_, err = m.AbortBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
	})
}

// TestTakeoverFromSavedCursor: node a stops (like a crash, its lease
// stays), node b takes the job over when the lease expires and continues
// from the last saved cursor.
func TestTakeoverFromSavedCursor(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 349, "alice") // 350 recipients
		ra, rb := newSink(), newSink()
		// A lease of 2 s leaves a's own renewals (every 1.33 s) a wide
		// margin under the race detector.
		a, _ := e.module(modOpts{node: "gander@a", router: ra, lease: 2 * time.Second, batch: 1})
		ctx := context.Background()
		id, err := a.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 100 }))
		require.NoError(t, err)
		// Past the first batch boundary: progress 100 is saved.
		wait.Until(t, 10*time.Second, func() error {
			j, err := a.GetBroadcast(ctx, "localhost", id)
			if err != nil || j.RecipientsProcessed < 100 {
				return fmt.Errorf("processed %d %v", j.RecipientsProcessed, err)
			}
			return nil
		})
		require.NoError(t, a.Stop(ctx))
		sentA := ra.n.Load()
		j, err := a.GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, StateRunning, j.State)
		require.Equal(t, "gander@a", j.OwnerNode)
		saved := j.RecipientsProcessed

		b, _ := e.module(modOpts{node: "gander@b", router: rb, lease: 2 * time.Second, batch: 1})
		j = waitState(t, b, id, StateFinished)
		require.Equal(t, "gander@b", j.OwnerNode)
		require.Equal(t, 350, j.RecipientsProcessed)
		// b started where a's saved progress was.
		require.Equal(t, int64(350-saved), rb.n.Load())
		// Everyone got it at least once; duplicates at most one batch.
		dups := 0
		for _, u := range append([]string{"alice"}, usernames(349)...) {
			n := ra.count(u+"@localhost") + rb.count(u+"@localhost")
			require.GreaterOrEqual(t, n, 1, u)
			dups += n - 1
		}
		require.Equal(t, int(sentA)-saved, dups)
		require.LessOrEqual(t, dups, 100)
	})
}

func usernames(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out, fmt.Sprintf("user%04d", i))
	}
	return out
}

// TestAbortWithOwnerDown aborts from node b a job whose owner a is down;
// a restarted a does not resume it.
func TestAbortWithOwnerDown(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 20, "alice")
		ra := newSink()
		a, _ := e.module(modOpts{node: "gander@a", router: ra})
		ctx := context.Background()
		id, err := a.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 1 }))
		require.NoError(t, err)
		require.NoError(t, a.Stop(ctx))

		b, reg := e.module(modOpts{node: "gander@b"})
		got, err := b.AbortBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, id, got)
		j, err := b.GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, StateAbortAdmin, j.State)
		require.Equal(t, "gander@a", j.OwnerNode)
		require.Equal(t, 1.0, testutil.ToFloat64(reg.Counter("mod_broadcast_jobs_aborted_admin", "count", "host_type").WithLabelValues("localhost")))

		a2, _ := e.module(modOpts{node: "gander@a", router: ra})
		// a2's first sync has run once it can take... wait for a sync by
		// starting a job there and seeing only that one live.
		id2, err := a2.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 1 }))
		require.NoError(t, err)
		wait.Until(t, 5*time.Second, func() error {
			ws := a2.WorkerStates()
			if len(ws) != 1 || ws[id2] == "" {
				return fmt.Errorf("workers %v", ws)
			}
			return nil
		})
	})
}

// TestAbortStopsRemoteWorkerWithinOneBatch: the owner is alive but another
// node aborts; the owner's worker stops at its next batch boundary.
func TestAbortStopsRemoteWorkerWithinOneBatch(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 99, "alice")
		ra := newSink()
		a, _ := e.module(modOpts{node: "gander@a", router: ra, batch: 1})
		b, _ := e.module(modOpts{node: "gander@b"})
		ctx := context.Background()
		id, err := a.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 20 }))
		require.NoError(t, err)
		wait.Until(t, 5*time.Second, func() error {
			if ra.n.Load() == 0 {
				return errors.New("nothing sent")
			}
			return nil
		})
		_, err = b.AbortBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		wait.Until(t, 5*time.Second, func() error {
			if len(a.WorkerStates()) != 0 {
				return fmt.Errorf("workers %v", a.WorkerStates())
			}
			return nil
		})
		require.LessOrEqual(t, ra.n.Load(), int64(40), "at most the batch in flight (20) after the abort")
		j, err := a.GetBroadcast(ctx, "localhost", id)
		require.NoError(t, err)
		require.Equal(t, StateAbortAdmin, j.State)
	})
}

// TestResumeOnRestart: a node restarting with the same name resumes its
// jobs at once, without waiting for the lease.
func TestResumeOnRestart(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 49, "alice")
		a, _ := e.module(modOpts{node: "gander@a", batch: 1})
		ctx := context.Background()
		id, err := a.StartBroadcast(ctx, req(func(r *StartRequest) { r.MessageRate = 20 }))
		require.NoError(t, err)
		require.NoError(t, a.Stop(ctx))
		// The default lease is 600 s: only a resume by name can finish it.
		a2, reg := e.module(modOpts{node: "gander@a", batch: 1})
		j := waitState(t, a2, id, StateFinished)
		require.Equal(t, 50, j.RecipientsProcessed)
		require.Equal(t, 0.0, testutil.ToFloat64(reg.Counter("mod_broadcast_jobs_started", "count", "host_type").WithLabelValues("localhost")),
			"a resume is not a start")
		waitCounter(t, reg, "mod_broadcast_jobs_finished", 1)
	})
}

func TestNodeNameInUse(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		a, _ := e.module(modOpts{node: "gander@a"})
		b, err := New(Options{Node: "gander@a", Domains: map[string]string{"localhost": "localhost"},
			Store: e.store, Accounts: e.users, Router: newSink(), HeartbeatInterval: 200 * time.Millisecond})
		require.NoError(t, err)
		err = b.Start(context.Background())
		require.ErrorIs(t, err, ErrNodeNameInUse)
		require.Contains(t, err.Error(), `"gander@a"`)
		require.NoError(t, a.Stop(context.Background()))
		require.NoError(t, b.Start(context.Background()))
		require.NoError(t, b.Stop(context.Background()))
	})
}

func TestFinishedFlagFinishesWithoutSending(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 5, "alice")
		ctx := context.Background()
		id, err := e.store.CreateJob(ctx, newJob{Name: "n", Domain: "localhost", HostType: "localhost",
			Sender: "alice@localhost", Body: "b", MessageRate: 10, RecipientCount: 6}, "gander@a", time.Minute)
		require.NoError(t, err)
		ok, err := e.store.SaveWorkerState(ctx, id, "gander@a", WorkerState{Processed: 6, Finished: true})
		require.NoError(t, err)
		require.True(t, ok)
		r := newSink()
		m, _ := e.module(modOpts{node: "gander@a", router: r})
		j := waitState(t, m, id, StateFinished)
		require.Equal(t, 6, j.RecipientsProcessed)
		require.Zero(t, r.n.Load())
	})
}

func TestBadSenderAbortsWithError(t *testing.T) {
	dbtest.ForEach(t, func(t *testing.T, d *db.DB) {
		e := newEnv(t, d)
		e.addUsers("localhost", 2, "alice")
		ctx := context.Background()
		// A stored sender that does not parse makes the worker fail: the
		// job ends abort_error with a reason.
		id, err := e.store.CreateJob(ctx, newJob{Name: "n", Domain: "localhost", HostType: "localhost",
			Sender: "@@", Body: "b", MessageRate: 10, RecipientCount: 3}, "gander@a", time.Minute)
		require.NoError(t, err)
		m, reg := e.module(modOpts{node: "gander@a"})
		j := waitState(t, m, id, StateAbortError)
		require.NotEmpty(t, j.AbortionReason)
		require.NotNil(t, j.StoppedAt)
		waitCounter(t, reg, "mod_broadcast_jobs_aborted_error", 1)
	})
}
