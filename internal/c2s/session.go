package c2s

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Session is a bound client session. Its exported methods are safe for
// concurrent use.
type Session struct {
	c   *conn
	jid jid.JID
	out chan *xmlstream.Element

	since time.Time // when the resource was bound

	ctx    context.Context
	cancel context.CancelFunc
	wdone  chan struct{}

	termOnce sync.Once
	termCh   chan struct{} // closed by terminate, after termCond is set
	termCond string
	termText string

	mu        sync.Mutex
	available bool
	priority  int
	presence  *xmlstream.Element // last available presence broadcast
	directed  map[jid.JID]bool   // directed presence recipients
	finished  bool

	rc receipts // the stanzas queued with SendTracked
}

func newSession(c *conn, full jid.JID) *Session {
	ctx, cancel := context.WithCancel(c.l.ctx)
	return &Session{c: c, jid: full, since: time.Now(), out: make(chan *xmlstream.Element, c.l.opts.QueueSize), ctx: ctx, cancel: cancel, wdone: make(chan struct{}), termCh: make(chan struct{})}
}

// JID returns the session's full JID.
func (s *Session) JID() jid.JID { return s.jid }

// Send queues el for the client without blocking. When the queue is full
// the stanza is refused (the router bounces it to its sender) and the
// session is closed with resource-constraint: a client that cannot keep up
// reconnects and finds later messages in offline storage.
func (s *Session) Send(el *xmlstream.Element) bool {
	select {
	case <-s.termCh:
		return false
	default:
	}
	select {
	case s.out <- el:
		return true
	default:
		s.queueFull()
		return false
	}
}

// SendTracked queues el like Send; when it returns true, done is called
// once, from another goroutine, with true when the client has provably
// read el (the client answered a ping written after it; see receipts.go)
// or false when the session ended first. done must not block. When it
// returns false (queue full or session ending), done is never called.
func (s *Session) SendTracked(el *xmlstream.Element, done func(delivered bool)) bool {
	select {
	case <-s.termCh:
		return false
	default:
	}
	full := false
	ok := s.rc.track(el, done, func() bool {
		select {
		case s.out <- el:
			return true
		default:
			full = true
			return false
		}
	})
	if full {
		s.queueFull()
	}
	return ok
}

// queueFull closes a session whose outbound queue overflowed.
func (s *Session) queueFull() {
	s.c.l.deps.Metrics.QueueDropped()
	s.c.l.deps.Log.Warn("c2s outbound queue full, closing session", "jid", s.jid.String())
	go s.c.shutdown("resource-constraint", "outbound queue full")
}

// Presence reports availability and priority.
func (s *Session) Presence() (bool, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.available, s.priority
}

// SetPresence records the session's broadcast presence; el nil means
// unavailable. It returns whether the session was available before.
func (s *Session) SetPresence(el *xmlstream.Element, priority int) (wasAvailable bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	wasAvailable = s.available
	s.available = el != nil
	s.priority = priority
	s.presence = el
	return wasAvailable
}

// LastPresence returns the last available presence broadcast, or nil.
func (s *Session) LastPresence() *xmlstream.Element {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.presence
}

// AddDirected remembers a directed presence recipient.
func (s *Session) AddDirected(to jid.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.directed == nil {
		s.directed = map[jid.JID]bool{}
	}
	s.directed[to] = true
}

// RemoveDirected forgets a directed presence recipient.
func (s *Session) RemoveDirected(to jid.JID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.directed, to)
}

// TakeDirected returns and clears the directed presence recipients.
func (s *Session) TakeDirected() []jid.JID {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]jid.JID, 0, len(s.directed))
	for j := range s.directed {
		out = append(out, j)
	}
	s.directed = nil
	return out
}

// Info describes the session for listings.
func (s *Session) Info() router.SessionInfo {
	i := router.SessionInfo{JID: s.jid, Since: s.since, Connection: "c2s"}
	if s.c.secure {
		i.Connection = "c2s_tls"
	}
	if ta, ok := s.c.raw.RemoteAddr().(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		i.Addr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i.Available, i.Priority = s.available, s.priority
	if s.presence != nil {
		i.Show = s.presence.ChildText(stanza.NSClient, "show")
		i.Status = s.presence.ChildText(stanza.NSClient, "status")
	}
	return i
}

// Replaced closes the session because another bound the same resource.
func (s *Session) Replaced() {
	s.c.l.deps.Log.Info("session replaced", "jid", s.jid.String())
	go s.c.shutdown("conflict", "Replaced by new connection")
}

// Kick closes the session with the stream error policy-violation and the
// given reason.
func (s *Session) Kick(reason string) {
	go s.c.shutdown("policy-violation", reason)
}

func (s *Session) start() {
	d := s.c.l.deps
	d.Router.Bind(s)
	d.Metrics.SessionCount(1)
	go s.writer()
	d.Hooks.SessionOpened.Run(s.ctx, &hooks.SessionEvent{JID: s.jid})
	d.Log.Debug("session bound", "jid", s.jid.String())
}

// terminate makes the writer send the stream error (if any) and the
// stream's closing tag, then close the connection.
func (s *Session) terminate(cond, text string) {
	s.termOnce.Do(func() {
		s.termCond, s.termText = cond, text
		close(s.termCh)
	})
}

// finish runs once the reader has ended: the session leaves the routing
// table, contacts learn it is gone and the writer is drained.
func (s *Session) finish() {
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return
	}
	s.finished = true
	status := ""
	if s.presence != nil {
		status = s.presence.ChildText(stanza.NSClient, "status")
	}
	wasAvailable := s.available
	s.mu.Unlock()
	d := s.c.l.deps
	ctx := context.WithoutCancel(s.ctx)
	if d.Router.Unbind(s) {
		d.Metrics.SessionCount(-1)
	}
	if wasAvailable && d.Presence != nil {
		// The final unavailable presence carries why the session ended.
		d.Presence.Gone(ctx, s, s.c.status())
	}
	d.Hooks.SessionClosed.Run(ctx, &hooks.SessionEvent{JID: s.jid, Status: status})
	s.terminate("", "")
	select {
	case <-s.wdone:
	case <-time.After(5 * time.Second):
	}
	s.rc.fail() // what the client has not provably read is not delivered
	s.cancel()
}

// writer drains the outbound queue, coalescing writes, until the session
// ends; then it writes the closing stream error and tag.
func (s *Session) writer() {
	defer close(s.wdone)
	c := s.c
	// The 8 KiB write buffer is taken from a pool only while there is
	// something to write, so an idle session holds none (memory per idle
	// connection is what a large deployment pays for).
	var bw *bufio.Writer
	acquire := func() {
		if bw == nil {
			bw = c.l.writeBufs.Get().(*bufio.Writer)
			bw.Reset(c.nc)
		}
	}
	release := func() {
		if bw != nil {
			bw.Reset(nil)
			c.l.writeBufs.Put(bw)
			bw = nil
		}
	}
	defer release()
	write := func(el *xmlstream.Element) bool {
		acquire()
		c.nc.SetWriteDeadline(time.Now().Add(30 * time.Second))
		if _, err := bw.Write(el.Bytes(stanza.NSClient)); err != nil {
			return false
		}
		s.rc.wrote(el)
		return true
	}
	ok := true
loop:
	for ok {
		select {
		case el := <-s.out:
			ok = write(el)
			for n := len(s.out); n > 0 && ok; n-- {
				ok = write(<-s.out)
			}
			if ok {
				ok = bw.Flush() == nil
			}
			if ok {
				if p := s.rc.ping(s.jid.Domain(), s.jid.String()); p != nil {
					// Tracked stanzas were flushed: ask the client to
					// prove it read them.
					ok = write(p) && bw.Flush() == nil
				}
			}
			if ok {
				release()
			}
		case <-s.termCh:
			break loop
		}
	}
	if ok && s.termCond != "resource-constraint" {
		// Deliver what is already queued before closing (clean stop).
		for n := len(s.out); n > 0 && ok; n-- {
			ok = write(<-s.out)
		}
	}
	if ok {
		acquire()
		c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if s.termCond != "" {
			bw.Write(stanza.StreamError(s.termCond, s.termText).BytesPrefixed("stream"))
		}
		bw.WriteString("</stream:stream>")
		bw.Flush()
	}
	// Give the client a moment to close its side, then close ours.
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(time.Second))
	c.nc.Close()
}

// readLoop processes stanzas until the stream ends.
func (s *Session) readLoop() error {
	for {
		el, err := s.c.dec.Next()
		if err != nil {
			return err
		}
		if err := s.handle(el); err != nil {
			return err
		}
	}
}

func (s *Session) handle(el *xmlstream.Element) (err error) {
	defer func() {
		if p := recover(); p != nil {
			s.c.l.deps.Log.Error("panic handling stanza", "jid", s.jid.String(), "id", el.Attr("id"), "panic", p)
			if el.Local != "presence" {
				s.Send(stanza.ErrorReply(el, stanza.Error{Condition: stanza.InternalServerError}))
			}
		}
	}()
	if el.Space != stanza.NSClient || (el.Local != "message" && el.Local != "presence" && el.Local != "iq") {
		return serr("unsupported-stanza-type", "")
	}
	// RFC 6120 §8.1.2.1: the server stamps from; a client may only claim
	// its own addresses.
	if f := el.Attr("from"); f != "" {
		fj, err := jid.Parse(f)
		if err != nil || (fj != s.jid && fj != s.jid.Bare()) {
			return serr("invalid-from", "")
		}
	}
	el.SetAttr("from", s.jid.String())
	if el.Local == "iq" && (el.Attr("type") == "result" || el.Attr("type") == "error") && s.isOwnPingAnswer(el) {
		return nil
	}
	if el.Local == "iq" && !validIQ(el) {
		s.Send(stanza.ErrorReply(el, stanza.Error{Condition: stanza.BadRequest}))
		return nil
	}
	var to jid.JID
	if t := el.Attr("to"); t != "" {
		var perr error
		if to, perr = jid.Parse(t); perr != nil {
			if el.Local != "presence" {
				reply := stanza.ErrorReply(el, stanza.Error{Condition: stanza.JIDMalformed})
				reply.SetAttr("from", "")
				s.Send(reply)
			}
			return nil
		}
		el.SetAttr("to", to.String())
	}
	ctx := s.ctx
	d := s.c.l.deps
	switch el.Local {
	case "presence":
		typ := el.Attr("type")
		if typ == "subscribe" || typ == "subscribed" || typ == "unsubscribe" || typ == "unsubscribed" {
			if to.IsZero() {
				return nil
			}
			// Subscription requests always carry the bare JID (RFC 6121 §3.1.1).
			to = to.Bare()
			out := el.Clone()
			out.SetAttr("from", s.jid.Bare().String())
			out.SetAttr("to", to.String())
			ev := &hooks.StanzaEvent{From: s.jid, To: to, Stanza: out, Deliver: true}
			d.Hooks.OutboundSubscription.Run(ctx, ev)
			if ev.Deliver {
				d.Router.Route(ctx, s.jid.Bare(), to, out)
			}
			return nil
		}
		if d.Presence != nil {
			d.Presence.FromClient(ctx, s, el)
		}
		return nil
	case "iq":
		if p := stanza.Payload(el); p != nil && p.Space == stanza.NSSession && p.Local == "session" && (to.IsZero() || to == s.jid.Domainpart()) {
			// Legacy session establishment (RFC 3921 §3): a no-op.
			r := stanza.IQResult(el)
			r.SetAttr("from", "")
			s.Send(r)
			return nil
		}
	}
	if to.IsZero() {
		// RFC 6120 §10.3: no to means the user's own bare JID.
		to = s.jid.Bare()
	}
	d.Router.RouteFromUser(ctx, s.jid, to, el)
	return nil
}

// isOwnPingAnswer consumes the client's answer to a ping of the receipts
// (to the server's domain, or without to).
func (s *Session) isOwnPingAnswer(el *xmlstream.Element) bool {
	if to := el.Attr("to"); to != "" && to != s.jid.Domain() {
		return false
	}
	return s.rc.ack(el.Attr("id"))
}

func validIQ(el *xmlstream.Element) bool {
	if el.Attr("id") == "" {
		return false
	}
	switch el.Attr("type") {
	case "get", "set":
		return stanza.Payload(el) != nil
	case "result", "error":
		return true
	}
	return false
}
