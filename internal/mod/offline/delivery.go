package offline

import (
	"context"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// States of a message in a delivery.
const (
	pending   int8 = iota // queued on the session, fate unknown
	delivered             // the client received it (or it is unreadable)
	failed                // not delivered: it stays stored
)

// delivery is one session's share of a user's stored messages, in ID
// order. As the session reports messages delivered, the delivered prefix
// is deleted from storage, one deletion at a time (storage deletes by ID
// prefix); a message after a failed one is never deleted by this delivery,
// even if delivered, so a message is deleted only when it and all before
// it were delivered. Its methods are safe for concurrent use: the session
// reports from its own goroutines.
type delivery struct {
	m    *Module
	user jid.JID

	mu       sync.Mutex
	ids      []int64
	state    []int8
	prefix   int  // the first prefix messages are delivered
	removed  int  // the first removed messages are deleted (or being deleted)
	deleting bool // a deletion runs
}

// add appends a message in state st and returns its index.
func (d *delivery) add(id int64, st int8) int {
	d.mu.Lock()
	d.ids = append(d.ids, id)
	d.state = append(d.state, st)
	i := len(d.ids) - 1
	d.advance()
	return i
}

// done records the fate of message i.
func (d *delivery) done(i int, ok bool) {
	d.mu.Lock()
	if d.state[i] != pending {
		d.mu.Unlock()
		return
	}
	d.state[i] = failed
	if ok {
		d.state[i] = delivered
	}
	d.advance()
}

// advance extends the delivered prefix, releases d.mu (held by the
// caller), and starts a deletion when the prefix grew and none runs.
func (d *delivery) advance() {
	for d.prefix < len(d.state) && d.state[d.prefix] == delivered {
		d.prefix++
	}
	start := d.prefix > d.removed && !d.deleting
	if start {
		d.deleting = true
	}
	d.mu.Unlock()
	if start {
		d.m.background(d.remove)
	}
}

// remove deletes the delivered prefix until it stops growing.
func (d *delivery) remove() {
	for {
		d.mu.Lock()
		from, to := d.removed, d.prefix
		if to == from {
			d.deleting = false
			d.mu.Unlock()
			return
		}
		last := d.ids[to-1]
		d.removed = to
		d.mu.Unlock()
		m := d.m
		ctx, cancel := context.WithTimeout(m.bg, deleteTimeout)
		err := m.store.Delete(ctx, d.user.Domain(), d.user.Local(), last)
		cancel()
		if err != nil {
			// Left stored: delivered again at the next login.
			m.log.Error("offline delete failed", "user", d.user.String(), "err", err)
		} else if m.metrics != nil {
			m.metrics.OfflineDelivered(to - from)
		}
	}
}

// deleteTimeout bounds one deletion of delivered messages.
const deleteTimeout = 30 * time.Second

// background runs fn on the module's goroutine group (Stop waits for it);
// once the module is stopping, on the caller's goroutine. The session
// reports deliveries on goroutines that must not wait for storage.
func (m *Module) background(fn func()) {
	m.mu.Lock()
	if m.stopping {
		m.mu.Unlock()
		fn()
		return
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		fn()
	}()
}
