package last

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/db"
	"github.com/gander-xmpp/gander/internal/db/dbtest"
)

// BenchmarkLastWritesPostgres measures last-activity writes per second
// sustained on PostgreSQL by many concurrent sessions going unavailable
// (10,000 distinct users, cycling): "batched" goes through the batch
// writer with the server's settings ("batched_distinct": every event for
// a different user, so nothing merges and only batching helps),
// "per_event" writes one upsert per event. Run:
//
//	go test -run '^$' -bench LastWritesPostgres -benchtime 20000x ./internal/mod/last/
func BenchmarkLastWritesPostgres(b *testing.B) {
	const users = 10000
	keys := make([]Key, users)
	for i := range keys {
		keys[i] = Key{"localhost", fmt.Sprintf("user%d", i)}
	}
	distinct := false // every event a different user: no merging
	run := func(b *testing.B, write func(ctx context.Context, w Write) error, sync func() error) {
		var next atomic.Int64
		b.SetParallelism(16) // many sessions per CPU, as in a disconnect spike
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			for pb.Next() {
				i := next.Add(1)
				k := keys[i%users]
				if distinct {
					k = Key{"localhost", fmt.Sprintf("d%d", i)}
				}
				if err := write(ctx, Write{Key: k, Record: Record{Seconds: i, Status: "bye"}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		if err := sync(); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "writes/s")
	}
	batched := func(b *testing.B) {
		s := NewSQLStore(dbtest.Open(b, db.PostgreSQL))
		w := batch.New(batch.Options{Name: "bench", Workers: 4, MaxBatch: 100, QueueSize: 10000},
			func(ctx context.Context, items []batch.Item[Key, Write]) error {
				ws := make([]Write, len(items))
				for i, it := range items {
					ws[i] = it.Value
				}
				return s.Apply(ctx, ws)
			}, nil)
		w.Start(context.Background())
		defer w.Stop(context.Background())
		var statements atomic.Int64
		s.OnStatement = func() { statements.Add(1) }
		run(b, func(ctx context.Context, wr Write) error { return w.Put(ctx, wr.Key, wr) },
			func() error { return w.Sync(context.Background()) })
		b.ReportMetric(float64(statements.Load())/float64(b.N), "statements/write")
	}
	b.Run("batched", batched)
	b.Run("batched_distinct", func(b *testing.B) {
		distinct = true
		defer func() { distinct = false }()
		batched(b)
	})
	b.Run("per_event", func(b *testing.B) {
		s := NewSQLStore(dbtest.Open(b, db.PostgreSQL))
		run(b, func(ctx context.Context, wr Write) error { return s.Apply(ctx, []Write{wr}) },
			func() error { return nil })
	})
}
