package muc

import (
	"context"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// A room's outgoing queue holds the stanzas its handlers produced, in the
// order of the state changes, until flush routes them. Routing never
// blocks, so the queue is short unless many senders keep one room's flusher
// busy; it is bounded by room_queue_size (docs/modules/mod_muc.md): a
// stanza that would start more work while the queue is full (entering,
// presence updates, groupchat and private messages) is refused with
// resource-constraint (ErrRoomBusy) and counted in
// mod_muc_room_queue_dropped_count. Leaving and affiliation changes are
// always queued: their state change has happened, and they add at most one
// stanza per occupant.

// busy reports whether the outgoing queue is full; callers hold r.mu.
func (r *Room) busy() bool {
	if len(r.outq) < r.maxQueue {
		return false
	}
	r.m.dropped.Inc()
	return true
}

// queue adds a stanza for to; callers hold r.mu.
func (r *Room) queue(to jid.JID, el *xmlstream.Element) {
	r.push(out{to: to, el: el.WithAttr("to", to.String())})
}

// push adds o to the outgoing queue; callers hold r.mu.
func (r *Room) push(o out) {
	r.outq = append(r.outq, o)
	r.m.queued.Inc()
}

// flush routes the queued stanzas in order. Whoever holds sendMu drains
// the queue, including what other goroutines add meanwhile; a goroutine
// that finds sendMu taken (another sender, or this one re-entering the
// room through a routed bounce) leaves its stanzas to the holder. The
// stanzas may come from other senders, and the hook's writes must not be
// lost when the sender's session ends meanwhile, so ctx's cancellation is
// not inherited.
func (m *Module) flush(ctx context.Context, r *Room) {
	ctx = context.WithoutCancel(ctx)
	for {
		if !r.sendMu.TryLock() {
			return
		}
		r.mu.Lock()
		batch := r.outq
		r.outq = nil
		r.mu.Unlock()
		r.m.queued.Sub(float64(len(batch)))
		for _, o := range batch {
			if o.hook != nil {
				m.hooks.MucGroupchatBroadcast.Run(ctx, o.hook)
				continue
			}
			m.r.Route(ctx, r.jid, o.to, o.el)
		}
		r.sendMu.Unlock()
		r.mu.Lock()
		more := len(r.outq) > 0
		r.mu.Unlock()
		if !more {
			return
		}
	}
}
