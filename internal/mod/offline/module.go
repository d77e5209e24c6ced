// Package offline stores messages for users with no available resource and
// delivers them on the next available presence (XEP-0160), the feature
// behind [modules.mod_offline].
package offline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// NSOffline is the disco feature of offline storage.
const NSOffline = "msgoffline"

// Store is the storage the module needs; safe for concurrent use.
type Store interface {
	Store(ctx context.Context, server, username string, m Message, max int) error
	Fetch(ctx context.Context, server, username string) ([]Message, error)
	Delete(ctx context.Context, server, username string, upToID int64) error
	RemoveUser(ctx context.Context, server, username string) error
}

// Router is what the module needs of the router.
type Router interface {
	Session(full jid.JID) router.Session
	Bounce(ctx context.Context, el *xmlstream.Element, e stanza.Error)
}

// Metrics counts stored and delivered messages.
type Metrics interface {
	OfflineStored()
	OfflineDelivered(n int)
}

// Deps are the module's collaborators.
type Deps struct {
	Log     *slog.Logger
	Store   Store
	Router  Router
	Hooks   *hooks.Hooks
	Metrics Metrics
}

// Module is the offline feature. It is safe for concurrent use.
type Module struct {
	log     *slog.Logger
	store   Store
	r       Router
	hooks   *hooks.Hooks
	max     int
	metrics Metrics
	now     func() time.Time
	// storeGroupchat also stores groupchat messages (the
	// store_groupchat_messages option; MUC Light rooms deliver to offline
	// members through this path).
	storeGroupchat bool
	// bg is the context of the deletions that follow deliveries; wg
	// counts them (Stop waits). Once stopping is set (under mu), a
	// deletion runs on the caller's goroutine instead.
	bg       context.Context
	wg       sync.WaitGroup
	mu       sync.Mutex
	stopping bool
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_offline"

// New returns the module; Start registers its hooks. cfg.MaxMessages caps
// the stored messages per user (unlimited: no cap).
func New(d Deps, cfg config.ModOffline) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, max: int(cfg.MaxMessages),
		metrics: d.Metrics, now: time.Now, storeGroupchat: cfg.StoreGroupchatMessages, bg: context.Background()}
	if m.log == nil {
		m.log = slog.Default()
	}
	return m, nil
}

// Start registers the hooks: storage when nobody is online, delivery on
// the first available presence, the disco feature and account removal.
func (m *Module) Start(ctx context.Context) error {
	m.bg = context.WithoutCancel(ctx)
	h := m.hooks
	h.OfflineMessage.Add(50, hookName, m.storeMessage)
	h.InitialPresence.Add(50, hookName, m.deliver)
	h.DiscoFeatures.Add(50, hookName, func(_ context.Context, ev *hooks.DiscoFeatures) bool {
		ev.Features = append(ev.Features, NSOffline)
		return false
	})
	h.UserRemoved.Add(50, hookName, m.userRemoved)
	return nil
}

// Stop unregisters the hooks and waits for the deletions of delivered
// messages, bounded by ctx.
func (m *Module) Stop(ctx context.Context) error {
	m.hooks.RemoveAll(hookName)
	m.mu.Lock()
	m.stopping = true
	m.mu.Unlock()
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("offline: stop: deletions in progress: %w", ctx.Err())
	}
}

func (m *Module) userRemoved(ctx context.Context, ev *hooks.UserEvent) bool {
	if err := m.store.RemoveUser(ctx, ev.User.Domain(), ev.User.Local()); err != nil {
		m.log.Error("offline removal failed", "user", ev.User.String(), "err", err)
	}
	return false
}

// storeMessage keeps a message for later with a XEP-0203 delay stamp.
func (m *Module) storeMessage(ctx context.Context, ev *hooks.StanzaEvent) bool {
	typ := ev.Stanza.Attr("type")
	if typ != "" && typ != "normal" && typ != "chat" && (typ != "groupchat" || !m.storeGroupchat) {
		return false
	}
	// Messages without content (chat states alone) are not worth storing.
	if ev.Stanza.Child(stanza.NSClient, "body") == nil && ev.Stanza.Child(stanza.NSClient, "subject") == nil && len(ev.Stanza.Elements()) == 0 {
		ev.Handled = true
		return true
	}
	now := m.now().UTC()
	el := ev.Stanza.Clone()
	delay := xmlstream.New(stanza.NSDelay, "delay", "from", ev.To.Domain(), "stamp", now.Format("2006-01-02T15:04:05.000000Z"))
	delay.AppendText("Offline Storage")
	el.Append(delay)
	msg := Message{From: ev.From.String(), Packet: el.Bytes(stanza.NSClient), Stored: now}
	err := m.store.Store(ctx, ev.To.Domain(), ev.To.Local(), msg, m.max)
	ev.Handled = true
	switch {
	case errors.Is(err, ErrLimitReached):
		m.r.Bounce(ctx, ev.Stanza, stanza.Error{Condition: stanza.ResourceConstraint, Text: "Offline message queue is full"})
	case err != nil:
		m.log.Error("offline store failed", "user", ev.To.String(), "err", err)
		m.r.Bounce(ctx, ev.Stanza, stanza.Error{Condition: stanza.InternalServerError})
	default:
		if m.metrics != nil {
			m.metrics.OfflineStored()
		}
	}
	return true
}

// deliver sends stored messages to a resource that became available. A
// message is deleted from storage only once the session reports that the
// client provably received it (router.Session.SendTracked): a crash, a
// lost connection or a client that never reads leaves it stored, and it
// is delivered again at the next login (docs/security.md, "Offline
// delivery": duplicates are possible, losses are not).
func (m *Module) deliver(ctx context.Context, ev *hooks.SessionEvent) bool {
	user := ev.JID.Bare()
	msgs, err := m.store.Fetch(ctx, user.Domain(), user.Local())
	if err != nil {
		m.log.Error("offline fetch failed", "user", user.String(), "err", err)
		return false
	}
	if len(msgs) == 0 {
		return false
	}
	s := m.r.Session(ev.JID)
	if s == nil {
		return false
	}
	d := &delivery{m: m, user: user, ids: make([]int64, 0, len(msgs)), state: make([]int8, 0, len(msgs))}
	for _, msg := range msgs {
		dec := xmlstream.NewDecoder(strings.NewReader(streamPrefix+string(msg.Packet)), 0)
		if _, err := dec.Header(); err != nil {
			continue
		}
		el, err := dec.Next()
		if err != nil {
			// Unreadable: never deliverable, so deleted with the rest.
			m.log.Error("stored offline message unreadable", "user", user.String(), "id", msg.ID, "err", err)
			d.add(msg.ID, delivered)
			continue
		}
		i := d.add(msg.ID, pending)
		if !s.SendTracked(el, func(ok bool) { d.done(i, ok) }) {
			d.done(i, false) // stays stored: the next login gets it
			break
		}
	}
	return false
}

const streamPrefix = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`
