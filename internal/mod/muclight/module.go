package muclight

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Router is what the module needs of the router.
type Router interface {
	Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element)
	Sessions(bare jid.JID) []router.Session
	IsLocal(domain string) bool
	RegisterService(domain string, svc router.Service)
	UnregisterService(domain string)
}

// Accounts tells whether a local account exists (offline delivery).
type Accounts interface {
	UserExists(ctx context.Context, server, username string) (bool, error)
}

// Deps are the module's collaborators.
type Deps struct {
	Log      *slog.Logger
	Store    Store
	Router   Router
	Hooks    *hooks.Hooks
	Accounts Accounts
	// Metrics may be nil (no metrics).
	Metrics *metrics.Registry
	// Domains are the served domains; each gets a MUC Light service domain.
	Domains []string
}

// Module is the MUC Light service of one set of domains. It is safe for
// concurrent use.
type Module struct {
	log      *slog.Logger
	store    Store
	r        Router
	hooks    *hooks.Hooks
	accounts Accounts
	opts     config.ModMucLight
	schema   *schema
	ids      idGen
	mu       sync.RWMutex
	services map[string]string // service domain -> served domain; under mu
	domains  []string          // served at Start
	// bg is the context of the cache's background reads; Stop cancels it.
	bg       context.Context
	cancelBG context.CancelFunc
	cache    *affCache // nil without cache_affs
	// refreshes are the cache's background reads in progress (Stop waits
	// for them); after Stop (stopped, under refreshMu) none starts.
	refreshMu sync.Mutex
	stopped   bool
	refreshes sync.WaitGroup
	m         moduleMetrics
}

type moduleMetrics struct {
	rooms, occupants          prometheus.Gauge
	created, destroyed        prometheus.Counter
	messages, fanout, dropped prometheus.Counter
	affChanges, configChanges prometheus.Counter
	cacheHit, cacheMiss       prometheus.Counter
	cacheRefresh              prometheus.Counter
}

func (mm *moduleMetrics) init(r *metrics.Registry) {
	if r == nil {
		r = metrics.New()
	}
	mm.rooms = r.Gauge("mod_muc_light_rooms", "count").WithLabelValues()
	mm.occupants = r.Gauge("mod_muc_light_occupants", "count").WithLabelValues()
	mm.created = r.Spiral("mod_muc_light_room_created", "count").WithLabelValues()
	mm.destroyed = r.Spiral("mod_muc_light_room_destroyed", "count").WithLabelValues()
	mm.messages = r.Spiral("mod_muc_light_message", "count").WithLabelValues()
	mm.fanout = r.Spiral("mod_muc_light_message_fanned_out", "count").WithLabelValues()
	mm.dropped = r.Spiral("mod_muc_light_message_dropped", "count").WithLabelValues()
	mm.affChanges = r.Spiral("mod_muc_light_affiliations_changed", "count").WithLabelValues()
	mm.configChanges = r.Spiral("mod_muc_light_config_changed", "count").WithLabelValues()
	mm.cacheHit = r.Spiral("mod_muc_light_cache_hit", "count").WithLabelValues()
	mm.cacheMiss = r.Spiral("mod_muc_light_cache_miss", "count").WithLabelValues()
	mm.cacheRefresh = r.Spiral("mod_muc_light_cache_refresh", "count").WithLabelValues()
}

// ServiceDomain returns the MUC Light domain of a served domain under the
// host pattern (spec/muclight.md §2).
func ServiceDomain(pattern, domain string) string {
	return strings.ReplaceAll(pattern, "@HOST@", domain)
}

// New builds the module for the served domains (d.Domains); Start
// registers it. opts must have been checked by the config package
// (defaults filled in).
func New(d Deps, opts config.ModMucLight) (*Module, error) {
	m := &Module{log: d.Log, store: d.Store, r: d.Router, hooks: d.Hooks, accounts: d.Accounts, opts: opts,
		schema: newSchema(opts.ConfigSchema), services: map[string]string{}, domains: d.Domains}
	if m.log == nil {
		m.log = slog.Default()
	}
	m.ids.now = time.Now
	if ca := opts.CacheAffs; ca != nil {
		m.cache = newAffCache(time.Duration(ca.TimeToLive)*time.Minute, time.Now)
	}
	m.m.init(d.Metrics)
	m.bg, m.cancelBG = context.WithCancel(context.Background())
	return m, nil
}

// hookName registers and removes the module's hook handlers.
const hookName = "mod_muc_light"

// Start reads the room and occupant counts for the metrics, registers one
// router service per MUC Light domain and the module's hooks.
func (m *Module) Start(ctx context.Context) error {
	if rooms, occ, err := m.store.Counts(ctx); err == nil {
		m.m.rooms.Set(float64(rooms))
		m.m.occupants.Set(float64(occ))
	}
	for _, dom := range m.domains {
		m.AddDomain(dom)
	}
	h := m.hooks
	h.DiscoItems.Add(50, hookName, m.discoItemsHook)
	h.UserRemoved.Add(40, hookName, m.userRemoved)
	if m.opts.RoomsInRosters {
		h.RosterItems.Add(50, hookName, m.rosterItems)
	}
	return nil
}

// AddDomain starts serving the MUC Light domain of a newly served domain
// (dynamic domains).
func (m *Module) AddDomain(domain string) {
	svc := ServiceDomain(m.opts.Host, domain)
	m.mu.Lock()
	m.services[svc] = domain
	m.mu.Unlock()
	m.r.RegisterService(svc, m.handle)
}

// RemoveDomain stops serving a removed domain's MUC Light domain and
// deletes its rooms and its users' occupancies and blocklists, without
// notifications (spec/muclight.md §10.8, D12).
func (m *Module) RemoveDomain(ctx context.Context, domain string) error {
	svc := ServiceDomain(m.opts.Host, domain)
	m.r.UnregisterService(svc)
	m.mu.Lock()
	delete(m.services, svc)
	m.mu.Unlock()
	err := m.store.RemoveDomain(ctx, svc, domain)
	if m.cache != nil {
		m.cache.clear()
	}
	if rooms, occ, err := m.store.Counts(ctx); err == nil {
		m.m.rooms.Set(float64(rooms))
		m.m.occupants.Set(float64(occ))
	}
	return err
}

// Stop unregisters the services and hooks, cancels the cache's background
// reads and waits for them.
func (m *Module) Stop(context.Context) error {
	m.mu.RLock()
	for svc := range m.services {
		m.r.UnregisterService(svc)
	}
	m.mu.RUnlock()
	m.hooks.RemoveAll(hookName)
	m.refreshMu.Lock()
	m.stopped = true
	m.refreshMu.Unlock()
	m.cancelBG()
	m.refreshes.Wait()
	return nil
}

// Store returns the module's storage (tests create fixtures with it).
func (m *Module) Store() Store { return m.store }

// Services lists the MUC Light domains.
func (m *Module) Services() []string {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]string, 0, len(m.services))
	for s := range m.services {
		out = append(out, s)
	}
	return out
}

// IsService reports whether domain is a MUC Light domain of this module.
func (m *Module) IsService(domain string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.services[domain]
	return ok
}

func (m *Module) discoItemsHook(_ context.Context, ev *hooks.DiscoItems) bool {
	svc := ServiceDomain(m.opts.Host, ev.Domain)
	if m.IsService(svc) {
		ev.Items = append(ev.Items, xmlstream.New(stanza.NSDiscoItems, "item", "jid", svc, "node", NS))
	}
	return false
}

// roomName is the display name: the roomname field, else the localpart.
func (m *Module) roomName(r *Room) string {
	if v, ok := m.schema.byInternal(r.Config, "roomname"); ok {
		return v
	}
	return r.JID.Local()
}

// rosterItems adds the user's rooms to a roster fetch (§10.10).
func (m *Module) rosterItems(ctx context.Context, ev *hooks.RosterItems) bool {
	rooms, err := m.store.UserRooms(ctx, ev.User)
	if err != nil {
		m.log.Error("muclight: rooms for roster", "user", ev.User.String(), "err", err)
		return false
	}
	for _, r := range rooms {
		if !m.IsService(r.JID.Domain()) {
			continue
		}
		it := xmlstream.New(stanza.NSRoster, "item", "jid", r.JID.String(), "name", m.roomName(r), "subscription", "to")
		it.Append(xmlstream.New(stanza.NSRoster, "group").AppendText(NS))
		it.Append(xmlstream.New(stanza.NSRoster, "version").AppendText(r.Version))
		ev.Items = append(ev.Items, it)
	}
	return false
}

// deliver sends one room stanza to a member's bare JID (spec/muclight.md
// §11): to the available resources sharing the highest non-negative
// priority; with none, to offline storage if it takes groupchat messages,
// otherwise it is dropped silently. Remote members go through the router.
func (m *Module) deliver(ctx context.Context, room, sender, to jid.JID, el *xmlstream.Element) {
	if sender.IsZero() {
		// User messages were reported once by LightMessageSent.
		m.hooks.GroupchatDelivered.Run(ctx, &hooks.GroupchatDelivery{Room: room, To: to, Stanza: el})
	}
	m.m.fanout.Inc()
	if !m.r.IsLocal(to.Domain()) {
		from, _ := jid.Parse(el.Attr("from"))
		m.r.Route(ctx, from, to, el)
		return
	}
	var targets []router.Session
	best := -1
	for _, s := range m.r.Sessions(to) {
		avail, prio := s.Presence()
		if !avail || prio < 0 {
			continue
		}
		switch {
		case prio > best:
			best = prio
			targets = append(targets[:0], s)
		case prio == best:
			targets = append(targets, s)
		}
	}
	if len(targets) > 0 {
		for _, s := range targets {
			if !s.Send(el) {
				m.m.dropped.Inc()
			}
		}
		return
	}
	if m.hooks.OfflineMessage.Len() == 0 {
		return // nobody stores offline messages: dropped silently (§11)
	}
	if m.accounts != nil {
		if ok, err := m.accounts.UserExists(ctx, to.Domain(), to.Local()); err == nil && !ok {
			return
		}
	}
	from, _ := jid.Parse(el.Attr("from"))
	ev := &hooks.StanzaEvent{From: from, To: to, Stanza: el}
	m.hooks.OfflineMessage.Run(ctx, ev)
	// Not handled: dropped silently, no service-unavailable bounce (§11).
}

// copyTo returns a shallow copy of el addressed to to; children are shared
// (routed stanzas are immutable).
func copyTo(el *xmlstream.Element, to jid.JID) *xmlstream.Element {
	return el.WithAttr("to", to.String())
}
