package iq

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/wait"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ns = "urn:test"

func request(id int) Request {
	el := xmlstream.New(stanza.NSClient, "iq", "type", "get", "id", strconv.Itoa(id), "from", "a@localhost/r", "to", "localhost")
	p := xmlstream.New(ns, "query")
	el.Append(p)
	return Request{From: jid.MustParse("a@localhost/r"), To: jid.MustParse("localhost"), IQ: el, Payload: p}
}

func newRegistry(t *testing.T) *Registry {
	r := NewRegistry(slog.New(slog.DiscardHandler))
	r.SetMetrics(metrics.New())
	t.Cleanup(r.Close)
	return r
}

// concurrency tracks how many handlers run at once.
type concurrency struct {
	now, max atomic.Int32
}

func (c *concurrency) enter() {
	n := c.now.Add(1)
	for {
		m := c.max.Load()
		if n <= m || c.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (c *concurrency) leave() { c.now.Add(-1) }

func result(r Request) *xmlstream.Element { return stanza.IQResult(r.IQ) }

func TestNoQueueRunsInline(t *testing.T) {
	reg := newRegistry(t)
	var seen []string // no lock: the race detector proves one goroutine
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		seen = append(seen, "handler "+r.IQ.Attr("id"))
		return result(r)
	}, Policy{Type: "no_queue"}))
	for i := range 3 {
		require.True(t, reg.Dispatch(context.Background(), Local, request(i), func(*xmlstream.Element) {
			seen = append(seen, "reply "+strconv.Itoa(i))
		}))
		seen = append(seen, "returned "+strconv.Itoa(i))
	}
	require.Equal(t, []string{"handler 0", "reply 0", "returned 0", "handler 1", "reply 1", "returned 1", "handler 2", "reply 2", "returned 2"}, seen)
}

func TestOneQueueIsStrictlyFIFO(t *testing.T) {
	reg := newRegistry(t)
	var c concurrency
	gate := make(chan struct{})
	var mu sync.Mutex
	var order []string
	require.NoError(t, reg.Register(SessionManager, ns, func(_ context.Context, r Request) *xmlstream.Element {
		c.enter()
		defer c.leave()
		<-gate
		mu.Lock()
		order = append(order, r.IQ.Attr("id"))
		mu.Unlock()
		return result(r)
	}, Policy{Type: "one_queue"}))
	const n = 300
	var replies sync.WaitGroup
	replies.Add(n)
	for i := range n {
		// Dispatch hands over without waiting for the (blocked) handler.
		require.True(t, reg.Dispatch(context.Background(), SessionManager, request(i), func(*xmlstream.Element) { replies.Done() }))
	}
	close(gate)
	replies.Wait()
	want := make([]string, n)
	for i := range want {
		want[i] = strconv.Itoa(i)
	}
	require.Equal(t, want, order)
	require.Equal(t, int32(1), c.max.Load(), "one at a time")
}

func TestParallelRunsConcurrently(t *testing.T) {
	reg := newRegistry(t)
	const n = 20
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		entered <- struct{}{}
		<-release
		return result(r)
	}, Policy{Type: "parallel"}))
	var replies sync.WaitGroup
	replies.Add(n)
	for i := range n {
		reg.Dispatch(context.Background(), Local, request(i), func(*xmlstream.Element) { replies.Done() })
	}
	// All n handlers are inside at the same time: none has been released.
	timeout := time.After(10 * time.Second)
	for range n {
		select {
		case <-entered:
		case <-timeout:
			t.Fatal("handlers did not run concurrently")
		}
	}
	close(release)
	replies.Wait()
}

func TestQueuesSpreadOverWorkers(t *testing.T) {
	reg := newRegistry(t)
	const workers, n = 4, 80
	var c concurrency
	entered := make(chan struct{}, n)
	release := make(chan struct{})
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		c.enter()
		defer c.leave()
		entered <- struct{}{}
		<-release
		return result(r)
	}, Policy{Type: "queues", Workers: workers}))
	var replies sync.WaitGroup
	replies.Add(n)
	for i := range n {
		reg.Dispatch(context.Background(), Local, request(i), func(*xmlstream.Element) { replies.Done() })
	}
	// The N workers all get work (random pick over 80 jobs: the chance
	// that one worker gets none is below 1e-9)...
	timeout := time.After(10 * time.Second)
	for range workers {
		select {
		case <-entered:
		case <-timeout:
			t.Fatal("workers did not all start")
		}
	}
	// ...and no more than N run at once.
	select {
	case <-entered:
		t.Fatal("more handlers running than workers")
	case <-time.After(200 * time.Millisecond):
	}
	require.Equal(t, int32(workers), c.max.Load())
	close(release)
	replies.Wait()
	require.Equal(t, int32(workers), c.max.Load())
}

func TestQueuesNeedWorkers(t *testing.T) {
	reg := newRegistry(t)
	require.Error(t, reg.Register(Local, ns, nil, Policy{Type: "queues"}))
	require.Error(t, reg.Register(Local, ns, nil, Policy{Type: "bogus"}))
}

func TestFullQueueAnswersResourceConstraint(t *testing.T) {
	reg := newRegistry(t)
	gate := make(chan struct{})
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		<-gate
		return result(r)
	}, Policy{Type: "one_queue"}))
	var mu sync.Mutex
	var errs []*xmlstream.Element
	var replies sync.WaitGroup
	const n = QueueSize + 5
	replies.Add(n)
	for i := range n {
		reg.Dispatch(context.Background(), Local, request(i), func(el *xmlstream.Element) {
			if el.Attr("type") == "error" {
				mu.Lock()
				errs = append(errs, el)
				mu.Unlock()
			}
			replies.Done()
		})
	}
	close(gate)
	replies.Wait()
	// The worker holds one job, the queue QueueSize: the rest are refused.
	require.GreaterOrEqual(t, len(errs), 4)
	require.NotNil(t, errs[0].Child("", "error").Child(stanza.NSStanzas, "resource-constraint"))
	got := gathered(t, reg)
	require.Equal(t, float64(len(errs)), got["iq_queue_dropped_count"])
	require.Equal(t, 0.0, got["iq_queue_length"], "queue drained")
}

func TestHandlerPanicIsInternalServerError(t *testing.T) {
	reg := newRegistry(t)
	require.NoError(t, reg.Register(Local, ns, func(context.Context, Request) *xmlstream.Element {
		panic("boom")
	}, Policy{Type: "no_queue"}))
	var got *xmlstream.Element
	reg.Dispatch(context.Background(), Local, request(1), func(el *xmlstream.Element) { got = el })
	require.NotNil(t, got)
	e := got.Child("", "error")
	require.NotNil(t, e.Child(stanza.NSStanzas, "internal-server-error"))
	require.Equal(t, "The server could not process the IQ stanza", e.ChildText(stanza.NSStanzas, "text"))
	require.NotNil(t, got.Child(ns, "query"), "payload echoed")
}

func TestUnregisterStopsWorkers(t *testing.T) {
	reg := NewRegistry(slog.New(slog.DiscardHandler))
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element { return result(r) }, Policy{Type: "queues", Workers: 3}))
	require.Equal(t, []string{ns}, reg.Namespaces(Local))
	reg.Unregister(Local, ns)
	require.Empty(t, reg.Namespaces(Local))
	require.False(t, reg.Dispatch(context.Background(), Local, request(1), func(*xmlstream.Element) {}))
	// goleak in TestMain checks that the three workers ended.
}

// gathered sums each metric of the registry over its labels.
func gathered(t *testing.T, reg *Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.metrics.Prometheus().Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			got[mf.GetName()] += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return got
}

// TestParallelIsBounded: under "parallel" at most MaxParallel handlers of a
// namespace run at once; the next IQ is answered at once with
// resource-constraint (no goroutine started), and the metrics say so.
func TestParallelIsBounded(t *testing.T) {
	reg := newRegistry(t)
	release := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(MaxParallel)
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		entered.Done()
		<-release
		return result(r)
	}, Policy{Type: "parallel"}))
	var replies sync.WaitGroup
	replies.Add(MaxParallel)
	for i := range MaxParallel {
		reg.Dispatch(context.Background(), Local, request(i), func(el *xmlstream.Element) {
			if el.Attr("type") != "result" {
				t.Errorf("IQ %s within the bound answered %s", el.Attr("id"), el.Attr("type"))
			}
			replies.Done()
		})
	}
	entered.Wait()
	var refused *xmlstream.Element
	reg.Dispatch(context.Background(), Local, request(MaxParallel), func(el *xmlstream.Element) { refused = el })
	require.NotNil(t, refused, "the IQ over the bound is answered before Dispatch returns")
	require.NotNil(t, refused.Child("", "error").Child(stanza.NSStanzas, "resource-constraint"))
	got := gathered(t, reg)
	require.Equal(t, float64(MaxParallel), got["iq_parallel_length"])
	require.Equal(t, 1.0, got["iq_parallel_dropped_count"])
	close(release)
	replies.Wait()
	wait.Until(t, 5*time.Second, func() error {
		if n := gathered(t, reg)["iq_parallel_length"]; n != 0 {
			return fmt.Errorf("iq_parallel_length = %v after the handlers returned", n)
		}
		return nil
	})
}

// TestStopWaitsForParallelHandlers: Stop returns once the running
// "parallel" handlers have answered (goleak in TestMain checks that none
// is left), and a Stop whose context ends first reports it.
func TestStopWaitsForParallelHandlers(t *testing.T) {
	reg := NewRegistry(slog.New(slog.DiscardHandler))
	release := make(chan struct{})
	started := make(chan struct{})
	require.NoError(t, reg.Register(Local, ns, func(_ context.Context, r Request) *xmlstream.Element {
		close(started)
		<-release
		return result(r)
	}, Policy{Type: "parallel"}))
	answered := make(chan struct{})
	reg.Dispatch(context.Background(), Local, request(1), func(*xmlstream.Element) { close(answered) })
	<-started
	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, reg.Stop(short), context.DeadlineExceeded)
	close(release)
	require.NoError(t, reg.Stop(context.Background()))
	select {
	case <-answered:
	default:
		t.Fatal("Stop returned before the running handler answered")
	}
}
