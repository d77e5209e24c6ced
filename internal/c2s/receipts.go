package c2s

import (
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// receipts tracks the stanzas queued with SendTracked until the client has
// provably read them (docs/security.md, "Offline delivery"):
//
//  1. queued: in the outbound queue, in queue order;
//  2. written: written to the connection since the last flush;
//  3. flushed: the writer flushed them and then sent an XMPP ping
//     (XEP-0199) to the client, and waits for its answer. A client answers
//     every IQ get, with a result or an error (RFC 6120 §8.2.3); the stream
//     is ordered, so an answer to the ping proves the client parsed
//     everything written before it. That answer delivers them (done(true)).
//
// When the session ends first, whatever is still tracked fails
// (done(false)). Stream Management will deliver on the client's <a/>
// instead of a ping; the callbacks stay the same.
type receipts struct {
	// pending counts the queued stanzas and unflushed says written holds
	// some, so that the writer's hot path skips the lock when nothing is
	// tracked.
	pending   atomic.Int32
	unflushed atomic.Bool

	mu      sync.Mutex // a leaf lock (LOCKS.md)
	queued  []tracked  // oldest first
	written []func(bool)
	flushed []ackWait // oldest first
	prefix  string    // of the ping ids: random, so a client cannot guess one before it sees it
	seq     uint64
	closed  bool
}

type tracked struct {
	el   *xmlstream.Element
	done func(bool)
}

// ackWait is a ping sent and the stanzas its answer delivers.
type ackWait struct {
	id   string
	done []func(bool)
}

// track queues el with push (a non-blocking queue send) and remembers
// done; it reports push's result. Pushing under the lock keeps the tracked
// stanzas in queue order.
//
// el is recorded before it is pushed: the writer may write it at once,
// and then finds it (wrote waits for the lock).
func (r *receipts) track(el *xmlstream.Element, done func(bool), push func() bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.queued = append(r.queued, tracked{el, done})
	r.pending.Add(1)
	if !push() {
		r.queued = r.queued[:len(r.queued)-1]
		r.pending.Add(-1)
		return false
	}
	return true
}

// wrote is called by the writer after it wrote el.
func (r *receipts) wrote(el *xmlstream.Element) {
	if r.pending.Load() == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queued) > 0 && r.queued[0].el == el {
		r.written = append(r.written, r.queued[0].done)
		r.unflushed.Store(true)
		r.queued[0] = tracked{}
		r.queued = r.queued[1:]
		r.pending.Add(-1)
	}
}

// ping is called by the writer after a successful flush. When tracked
// stanzas were in it, it returns the ping to write and flush next (nil
// otherwise).
func (r *receipts) ping(from, to string) *xmlstream.Element {
	if !r.unflushed.Load() {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unflushed.Store(false)
	if len(r.written) == 0 || r.closed {
		return nil
	}
	if r.prefix == "" {
		b := make([]byte, 8)
		rand.Read(b)
		r.prefix = "gander-ack-" + hex.EncodeToString(b) + "-"
	}
	r.seq++
	id := r.prefix + strconv.FormatUint(r.seq, 10)
	r.flushed = append(r.flushed, ackWait{id: id, done: r.written})
	r.written = nil
	p := xmlstream.New(stanza.NSClient, "iq", "type", "get", "id", id, "from", from, "to", to)
	return p.Append(xmlstream.New(nsPing, "ping"))
}

// ack handles the client's answer to one of the pings: the stanzas
// flushed before it (and before any earlier ping) are delivered. It
// reports whether id was such a ping (the answer is then consumed).
func (r *receipts) ack(id string) bool {
	r.mu.Lock()
	i := -1
	for k, w := range r.flushed {
		if w.id == id {
			i = k
			break
		}
	}
	if i < 0 {
		r.mu.Unlock()
		return false
	}
	var done []func(bool)
	for _, w := range r.flushed[:i+1] {
		done = append(done, w.done...)
	}
	r.flushed = r.flushed[i+1:]
	r.mu.Unlock()
	for _, d := range done {
		d(true)
	}
	return true
}

// fail ends tracking when the session ends: everything not yet delivered
// fails, and later SendTracked calls are refused.
func (r *receipts) fail() {
	r.mu.Lock()
	r.closed = true
	var done []func(bool)
	for _, t := range r.queued {
		done = append(done, t.done)
	}
	done = append(done, r.written...)
	for _, w := range r.flushed {
		done = append(done, w.done...)
	}
	r.queued, r.written, r.flushed = nil, nil, nil
	r.pending.Store(0)
	r.mu.Unlock()
	for _, d := range done {
		d(false)
	}
}

// nsPing is XEP-0199's namespace.
const nsPing = "urn:xmpp:ping"
