package inbox

import (
	"context"
	"fmt"
	"testing"

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

// benchTask is the i-th write of a mixed stream: mostly incoming
// messages, some own messages, markers and removals.
func benchTask(i int, ts int64) task {
	id := fmt.Sprintf("m%d", i)
	switch i % 20 {
	case 0:
		return set(0, id, ts)
	case 1:
		return resetMsg(id, ts)
	case 2:
		return resetAll(ts)
	case 3:
		if i%60 == 3 {
			return remove
		}
	}
	return inc(1, id, ts)
}

// BenchmarkAggregate is the aggregation hot path on its own: each
// operation merges one write into a pending map of M conversations, as a
// shard does while a flush is in flight.
func BenchmarkAggregate(b *testing.B) {
	for _, m := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("convs=%d", m), func(b *testing.B) {
			o := Owner{"localhost", "bob"}
			keys := make([]taskKey, m)
			for i := range keys {
				keys[i] = taskKey{o, fmt.Sprintf("u%d@localhost", i)}
			}
			tasks := make([]task, 1024)
			for i := range tasks {
				tasks[i] = benchTask(i, int64(i))
			}
			pending := make(map[taskKey]task, m)
			i := 0
			for b.Loop() {
				k, t := keys[i%m], tasks[i%len(tasks)]
				if old, ok := pending[k]; ok {
					nv, err := aggregate(old, t)
					if err == nil {
						t = nv
					}
				}
				pending[k] = t
				i++
			}
		})
	}
}

// BenchmarkWriterPut is the same through the writer's Put (shard
// choice, lock, merge, metrics) with every flush held, so every write
// after the first merges into one of M pending conversations.
func BenchmarkWriterPut(b *testing.B) {
	for _, m := range []int{100, 10000} {
		b.Run(fmt.Sprintf("convs=%d", m), func(b *testing.B) {
			hold := make(chan struct{})
			w := batch.New(batch.Options{Name: "bench", Workers: 4, QueueSize: m + 1},
				func(ctx context.Context, _ []batch.Item[taskKey, task]) error {
					select {
					case <-hold:
					case <-ctx.Done():
					}
					return nil
				}, aggregate)
			w.Start(context.Background())
			o := Owner{"localhost", "bob"}
			keys := make([]taskKey, m)
			for i := range keys {
				keys[i] = taskKey{o, fmt.Sprintf("u%d@localhost", i)}
			}
			ctx := context.Background()
			i := 0
			for b.Loop() {
				if err := w.Put(ctx, keys[i%m], benchTask(i, int64(i))); err != nil {
					b.Fatal(err)
				}
				i++
			}
			b.StopTimer()
			close(hold)
			_ = w.Stop(ctx)
		})
	}
}

// BenchmarkFlush writes one batch of conversations (the mixed stream of
// benchTask, each conversation once, newer timestamps every time so the
// upserts do change rows) with one statement per conversation (single)
// and with the multi-row statements the writer uses (multi). Run with
// -bench Flush/pgsql for the PostgreSQL figures.
func BenchmarkFlush(b *testing.B) {
	for _, driver := range dbtest.Drivers() {
		for _, rows := range []int{10, 100} {
			for _, mode := range []string{"single", "multi"} {
				b.Run(fmt.Sprintf("%s/rows=%d/%s", driver, rows, mode), func(b *testing.B) {
					benchFlush(b, dbtest.Open(b, driver), rows, mode == "multi")
				})
			}
		}
	}
}

func benchFlush(b *testing.B, d *db.DB, rows int, multi bool) {
	ctx := context.Background()
	s := NewSQLStore(d)
	a := &asyncWriter{store: s}
	owners := []Owner{{"localhost", "alice"}, {"localhost", "bob"}}
	items := make([]batch.Item[taskKey, task], rows)
	ts := int64(0)
	fill := func() {
		for i := range items {
			ts++
			items[i] = batch.Item[taskKey, task]{Key: taskKey{owners[i%2], fmt.Sprintf("u%d@localhost", i)}, Value: benchTask(i, ts)}
			if items[i].Value.kind != kSet && items[i].Value.kind != kInc {
				// Resets and removals need a row; every fourth round
				// writes them as messages instead.
				if ts%4 == 0 {
					items[i].Value = inc(1, "x", ts)
				}
			}
		}
	}
	// Create the rows once.
	for i := range items {
		ts++
		items[i] = batch.Item[taskKey, task]{Key: taskKey{owners[i%2], fmt.Sprintf("u%d@localhost", i)}, Value: inc(1, "x", ts)}
	}
	if err := a.flush(ctx, items); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		fill()
		b.StartTimer()
		var err error
		if multi {
			err = a.flush(ctx, items)
		} else {
			for _, it := range items {
				if err = applyOne(ctx, s, it.Key, it.Value); err != nil {
					break
				}
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkStoredCopies: the stored copies of one room message for its 10
// members, serialised one by one or spliced from one template per message
// (what a flush does).
func BenchmarkStoredCopies(b *testing.B) {
	body := xmlstream.New(stanza.NSClient, "body")
	body.Children = append(body.Children, xmlstream.Text("Hello, this is a message of about a hundred bytes sent to the room by one of its members."))
	el := xmlstream.New(stanza.NSClient, "message", "id", "c2d9f1e0-1", "type", "groupchat", "from", "room42@muclight.localhost/bench17@localhost")
	el.Children = append(el.Children, body)
	tos := make([]string, 10)
	for i := range tos {
		tos[i] = fmt.Sprintf("bench%d@localhost", i+1)
	}
	b.Run("per-copy", func(b *testing.B) {
		for b.Loop() {
			for _, to := range tos {
				_ = task{msg: el, to: to}.content()
			}
		}
	})
	b.Run("template", func(b *testing.B) {
		for b.Loop() {
			c := storedCopies{}
			for _, to := range tos {
				_ = c.content(task{msg: el, to: to})
			}
		}
	})
}

// BenchmarkLookup is one inbox query's read (a user with one entry, the
// shape of the MUC Light benchmark): the database round trip and decoding,
// what every query costs the server.
func BenchmarkLookup(b *testing.B) {
	for _, driver := range dbtest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			s := NewSQLStore(dbtest.Open(b, driver))
			o := Owner{"localhost", "alice"}
			if _, err := s.Upsert(ctx, o, Upsert{Remote: "room@muclight.localhost", MsgID: "m1", Content: "<message/>", Timestamp: 1, Count: 1, Incr: true, Box: "inbox"}); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				es, err := s.Lookup(ctx, o, Params{Limit: -1})
				if err != nil || len(es) != 1 {
					b.Fatal(len(es), err)
				}
			}
		})
	}
}

// BenchmarkAsyncNewConversation is the sender's path of a one-to-one
// message with rdbms_async when its conversation is not known to be out
// of the archive (a new conversation, or one whose properties were just
// set): the hook's cost on the session's goroutine, the flushes running
// behind it. Run with -bench AsyncNewConversation/pgsql for PostgreSQL.
func BenchmarkAsyncNewConversation(b *testing.B) {
	for _, driver := range dbtest.Drivers() {
		b.Run(driver, func(b *testing.B) {
			ctx := context.Background()
			cfg, err := config.Parse([]byte(config.WithoutModules(config.DefaultTOML, "mod_inbox")+"\n[modules.mod_inbox]\nbackend = \"rdbms_async\"\n"), "t.toml")
			if err != nil {
				b.Fatal(err)
			}
			m, err := New(Deps{Store: NewSQLStore(dbtest.Open(b, driver)), Router: &routed{}, Hooks: &hooks.Hooks{}, IQ: iq.NewRegistry(nil)}, *cfg.Modules.Inbox)
			if err != nil {
				b.Fatal(err)
			}
			// A deeper queue than the module's, so that the loop measures
			// the hook rather than waiting for the database.
			m.async = newAsyncWriter(m.store, batch.Options{Name: "inbox_bench", Workers: 2, QueueSize: 100000})
			m.async.check = m.checkArchive
			if err := m.Start(ctx); err != nil {
				b.Fatal(err)
			}
			bob := jid.MustParse("bob@localhost")
			msg := xmlstream.New(stanza.NSClient, "message", "type", "chat", "id", "c1", "to", "bob@localhost")
			msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("hi"))
			i := 0
			for b.Loop() {
				from := jid.MustParse(fmt.Sprintf("u%d@localhost/pc", i))
				m.localMessage(ctx, &hooks.StanzaEvent{From: from, To: bob, Stanza: msg})
				i++
			}
			b.StopTimer()
			if err := m.Stop(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}
