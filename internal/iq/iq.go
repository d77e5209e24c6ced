// Package iq is the IQ handler registry with the four IQ processing
// policies of spec/server.md §1.4.
package iq

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Component says which addresses a handler serves (spec/server.md §1.1).
type Component int

const (
	// Local serves IQs addressed to the bare domain.
	Local Component = iota
	// SessionManager serves IQs addressed to a bare user JID.
	SessionManager
)

// Request is one IQ get or set.
type Request struct {
	From, To jid.JID
	IQ       *xmlstream.Element
	Payload  *xmlstream.Element
}

// Handler answers a request with a reply IQ, or nil to send nothing.
type Handler func(ctx context.Context, r Request) *xmlstream.Element

// Policy is an IQ processing policy.
type Policy struct {
	Type    string // "no_queue", "one_queue", "queues", "parallel"
	Workers int    // with "queues"
}

// Or returns p, or the policy def (without workers) when p has no type:
// each feature passes its default policy (spec/server.md §1.4).
func (p Policy) Or(def string) Policy {
	if p.Type == "" {
		return Policy{Type: def}
	}
	return p
}

// QueueSize bounds each worker queue; a full queue answers the IQ with
// resource-constraint instead of blocking the sender.
const QueueSize = 1000

// MaxParallel bounds the handlers of one namespace running at once under
// the "parallel" policy; an IQ over the bound is answered with
// resource-constraint instead of starting one more goroutine.
const MaxParallel = 1000

// Binding names one handler: the component and namespace it serves.
type Binding struct {
	Comp    Component
	NS      string
	Handler Handler
}

type key struct {
	comp Component
	ns   string
}

type registered struct {
	h      Handler
	policy Policy
	queues []chan job
	done   chan struct{}
	wg     sync.WaitGroup // workers, and handlers running under "parallel"
	// slots holds one token per handler running under "parallel"
	// (capacity MaxParallel).
	slots chan struct{}
	// mu orders the wg.Add of a "parallel" IQ before stop's Wait; after
	// stop (stopped), such IQs run inline.
	mu      sync.Mutex
	stopped bool
	// Per-handler queue metrics (nil without SetMetrics): the jobs
	// waiting in the handler's queues (handlers running, for "parallel"),
	// and those refused because the queue (or the parallel bound) was
	// full.
	queued  prometheus.Gauge
	dropped prometheus.Counter
}

// String names a component in metrics and logs.
func (c Component) String() string {
	if c == Local {
		return "local"
	}
	return "sm"
}

type job struct {
	ctx   context.Context
	r     Request
	reply func(*xmlstream.Element)
}

// Registry maps (component, namespace) to handlers. It is safe for
// concurrent use.
type Registry struct {
	log     *slog.Logger
	metrics *metrics.Registry
	mu      sync.RWMutex
	m       map[key]*registered

	stopOnce sync.Once
	stopped  chan struct{} // closed when Stop's drain has ended
}

// SetMetrics makes the registry measure its queues: iq_queue_length (jobs
// waiting) and iq_queue_dropped_count (jobs refused, queue full), labelled
// with component and xmlns. Call it before Register.
func (r *Registry) SetMetrics(m *metrics.Registry) { r.metrics = m }

// NewRegistry returns an empty registry.
func NewRegistry(log *slog.Logger) *Registry {
	return &Registry{log: log, m: map[key]*registered{}}
}

// Register installs h for ns on comp with the given policy, starting its
// workers. Registering the same key again replaces the old handler.
func (r *Registry) Register(comp Component, ns string, h Handler, p Policy) error {
	reg := &registered{h: h, policy: p, done: make(chan struct{})}
	switch p.Type {
	case "", "one_queue":
		reg.policy.Type = "one_queue"
		reg.queues = []chan job{make(chan job, QueueSize)}
	case "queues":
		if p.Workers <= 0 {
			return fmt.Errorf("iq: policy queues needs workers > 0")
		}
		for i := 0; i < p.Workers; i++ {
			reg.queues = append(reg.queues, make(chan job, QueueSize))
		}
	case "parallel":
		reg.slots = make(chan struct{}, MaxParallel)
	case "no_queue":
	default:
		return fmt.Errorf("iq: unknown policy %q", p.Type)
	}
	if r.metrics != nil {
		l := prometheus.Labels{"component": comp.String(), "xmlns": ns}
		switch {
		case len(reg.queues) > 0:
			reg.queued = r.metrics.Gauge("iq_queue", "length", "component", "xmlns").With(l)
			reg.dropped = r.metrics.Spiral("iq_queue_dropped", "count", "component", "xmlns").With(l)
		case reg.slots != nil:
			reg.queued = r.metrics.Gauge("iq_parallel", "length", "component", "xmlns").With(l)
			reg.dropped = r.metrics.Spiral("iq_parallel_dropped", "count", "component", "xmlns").With(l)
		}
	}
	for _, q := range reg.queues {
		reg.wg.Add(1)
		go r.worker(reg, q)
	}
	r.mu.Lock()
	old := r.m[key{comp, ns}]
	r.m[key{comp, ns}] = reg
	r.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return nil
}

// Unregister removes the handler and stops its workers after they drain.
func (r *Registry) Unregister(comp Component, ns string) {
	r.mu.Lock()
	reg := r.m[key{comp, ns}]
	delete(r.m, key{comp, ns})
	r.mu.Unlock()
	if reg != nil {
		reg.stop()
	}
}

// RegisterAll registers every binding with policy p. On an error it
// unregisters those it registered and returns the error.
func (r *Registry) RegisterAll(p Policy, bs ...Binding) error {
	for i, b := range bs {
		if err := r.Register(b.Comp, b.NS, b.Handler, p); err != nil {
			r.UnregisterAll(bs[:i]...)
			return err
		}
	}
	return nil
}

// UnregisterAll unregisters every binding (see Unregister).
func (r *Registry) UnregisterAll(bs ...Binding) {
	for _, b := range bs {
		r.Unregister(b.Comp, b.NS)
	}
}

// Start does nothing: a handler's workers start when it is registered. It
// makes the registry a component of the server's lifecycle.
func (r *Registry) Start(context.Context) error { return nil }

// Stop unregisters every handler still registered and waits for their
// queued and running IQs, bounded by ctx.
// A second Stop waits for the same drain.
func (r *Registry) Stop(ctx context.Context) error {
	r.stopOnce.Do(func() {
		r.stopped = make(chan struct{})
		go func() {
			r.Close()
			close(r.stopped)
		}()
	})
	select {
	case <-r.stopped:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("iq: stop: %w", ctx.Err())
	}
}

// Close unregisters everything and waits for the handlers' queued and
// running IQs.
func (r *Registry) Close() {
	r.mu.Lock()
	m := r.m
	r.m = map[key]*registered{}
	r.mu.Unlock()
	for _, reg := range m {
		reg.stop()
	}
}

func (reg *registered) stop() {
	reg.mu.Lock()
	reg.stopped = true
	reg.mu.Unlock()
	close(reg.done)
	reg.wg.Wait()
}

func (r *Registry) worker(reg *registered, q chan job) {
	defer reg.wg.Done()
	for {
		select {
		case j := <-q:
			reg.dequeued()
			r.run(reg.h, j)
		case <-reg.done:
			for {
				select {
				case j := <-q:
					reg.dequeued()
					r.run(reg.h, j)
				default:
					return
				}
			}
		}
	}
}

func (reg *registered) dequeued() {
	if reg.queued != nil {
		reg.queued.Dec()
	}
}

// Namespaces lists the namespaces registered on comp, sorted.
func (r *Registry) Namespaces(comp Component) []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var out []string
	for k := range r.m {
		if k.comp == comp {
			out = append(out, k.ns)
		}
	}
	sort.Strings(out)
	return out
}

// Dispatch hands a request to the handler of (comp, payload namespace)
// according to its policy; reply is called with the answer (possibly from
// another goroutine). It reports false when no handler is registered.
func (r *Registry) Dispatch(ctx context.Context, comp Component, req Request, reply func(*xmlstream.Element)) bool {
	r.mu.RLock()
	reg := r.m[key{comp, req.Payload.Space}]
	r.mu.RUnlock()
	if reg == nil {
		return false
	}
	j := job{ctx: context.WithoutCancel(ctx), r: req, reply: reply}
	switch reg.policy.Type {
	case "no_queue":
		r.run(reg.h, j)
	case "parallel":
		select {
		case reg.slots <- struct{}{}:
		default:
			if reg.dropped != nil {
				reg.dropped.Inc()
			}
			reply(stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.ResourceConstraint, Text: "Too many IQs in progress"}))
			return true
		}
		reg.mu.Lock()
		if reg.stopped {
			reg.mu.Unlock()
			<-reg.slots
			r.run(reg.h, j)
			return true
		}
		reg.wg.Add(1)
		reg.mu.Unlock()
		if reg.queued != nil {
			reg.queued.Inc()
		}
		go func() {
			defer reg.wg.Done()
			r.run(reg.h, j)
			<-reg.slots
			reg.dequeued()
		}()
	default:
		q := reg.queues[0]
		if len(reg.queues) > 1 {
			q = reg.queues[rand.IntN(len(reg.queues))]
		}
		if reg.queued != nil {
			reg.queued.Inc()
		}
		select {
		case q <- j:
		default:
			if reg.queued != nil {
				reg.queued.Dec()
				reg.dropped.Inc()
			}
			reply(stanza.IQErrorReply(req.IQ, stanza.Error{Condition: stanza.ResourceConstraint, Text: "IQ queue full"}))
		}
	}
	return true
}

// run calls the handler, turning a panic into internal-server-error
// (spec/server.md §1.3).
func (r *Registry) run(h Handler, j job) {
	var res *xmlstream.Element
	func() {
		defer func() {
			if p := recover(); p != nil {
				r.log.Warn("iq handler crashed", "ns", j.r.Payload.Space, "id", j.r.IQ.Attr("id"), "from", j.r.From.String(), "panic", p)
				res = stanza.IQErrorReply(j.r.IQ, stanza.Error{Condition: stanza.InternalServerError, Text: "The server could not process the IQ stanza"})
			}
		}()
		res = h(j.ctx, j.r)
	}()
	if res != nil {
		j.reply(res)
	}
}
