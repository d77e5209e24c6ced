package broadcast

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/gander-xmpp/gander/internal/auth"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// clock is a Router that records when the first and the last message went
// out.
type clock struct {
	mu          sync.Mutex
	n           int
	first, last time.Time
}

func (c *clock) Route(context.Context, jid.JID, jid.JID, *xmlstream.Element) error {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		c.first = now
	}
	c.last = now
	c.n++
	return nil
}

// BenchmarkBroadcastRate measures the pacing of one job: the achieved
// rate over a run of about 30 seconds per configured rate (10, 100 and
// 1000 messages per second), with real batches (10 s each, progress
// persisted and the next page loaded from SQLite in between) and a router
// that only records the time. It reports msg/s and the deviation in
// percent. Run with:
//
//	go test -run '^$' -bench BroadcastRate -benchtime 1x ./internal/mod/broadcast/
//
// GANDER_BENCH_SECONDS is not read; the length is fixed at 30 s so that
// the figures are comparable between runs.
func BenchmarkBroadcastRate(b *testing.B) {
	const seconds = 30
	for _, rate := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			for range b.N {
				d := dbtest.Open(b, db.SQLite)
				n := rate*seconds + 1 // n-1 intervals of 1/rate: 30 s
				addBulkUsers(b, d, n)
				r := &clock{}
				m, err := New(Options{Node: "gander@bench", Domains: map[string]string{"localhost": "localhost"},
					Store: NewSQLStore(d), Accounts: auth.NewSQLStore(d), Router: r})
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				id, err := m.StartBroadcast(context.Background(), StartRequest{Name: "bench", Domain: "localhost",
					Body: "b", Sender: jid.MustParse("u000000@localhost"), MessageRate: rate})
				if err != nil {
					b.Fatal(err)
				}
				wait.Until(b, 2*seconds*time.Second, func() error {
					j, err := m.GetBroadcast(context.Background(), "localhost", id)
					if err != nil {
						return err
					}
					if j.State == StateRunning {
						return fmt.Errorf("job %d still running, %d of %d sent", id, j.RecipientsProcessed, j.RecipientCount)
					}
					return nil
				})
				if err := m.Stop(context.Background()); err != nil {
					b.Fatal(err)
				}
				r.mu.Lock()
				achieved := float64(r.n-1) / r.last.Sub(r.first).Seconds()
				r.mu.Unlock()
				b.ReportMetric(achieved, "msg/s")
				b.ReportMetric(100*(achieved-float64(rate))/float64(rate), "dev%")
				b.ReportMetric(r.last.Sub(r.first).Seconds(), "s")
			}
		})
	}
}

// addBulkUsers inserts n accounts in one transaction (credentials are not
// used by the benchmark).
func addBulkUsers(b *testing.B, d *db.DB, n int) {
	b.Helper()
	c, err := auth.NewCredentials("pw", 1)
	if err != nil {
		b.Fatal(err)
	}
	store := auth.NewSQLStore(d)
	ctx := context.Background()
	past := time.Now().Add(-time.Hour)
	for i := range n {
		if err := store.CreateUser(ctx, "localhost", fmt.Sprintf("u%06d", i), c, past); err != nil {
			b.Fatal(err)
		}
	}
}
