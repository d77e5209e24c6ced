package muclight

import (
	"slices"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// cacheMaxEntries bounds the occupant cache; beyond it, expired entries are
// swept and then arbitrary ones dropped.
const cacheMaxEntries = 100_000

// affCache is the node-local occupant cache of cache_affs
// (spec/muclight.md §16): room -> occupants, refreshed after every change
// made on this node and dropped on destruction, so a removed occupant can
// never post here after the removal was acknowledged. Entries expire after
// time_to_live, which bounds how long a change made on another node of a
// cluster can go unseen. An entry still in use near its expiry is read
// again in the background (refreshAge), so that a busy room never
// expires: without that, every message to it in the moment after expiry
// would read storage and wait, and rooms filled at the same moment would
// expire together. The strategy and segment options are accepted but
// Gander uses one map with a TTL. It is safe for concurrent use.
type affCache struct {
	mu  sync.Mutex
	ttl time.Duration
	now func() time.Time
	m   map[jid.JID]cacheEntry
	// gen counts updates and drops; a list read from storage on a miss
	// is only cached if no change happened meanwhile (fill), so a slow
	// read can never overwrite a newer list.
	gen uint64
}

type cacheEntry struct {
	occupants []Occupant
	// members are the occupants' JIDs, built once per cached list and
	// shared, read-only, by every message sent while it is cached (the
	// LightMessageSent hook's Members).
	members []jid.JID
	version string
	at      time.Time
	// refreshing is set while one background read refreshes the entry.
	refreshing bool
}

// maxRefreshAhead bounds how long before its expiry an entry in use is
// refreshed (a quarter of time_to_live when that is shorter).
const maxRefreshAhead = 30 * time.Second

// refreshAge is the age from which a get asks for a background refresh.
func (c *affCache) refreshAge() time.Duration { return c.ttl - min(c.ttl/4, maxRefreshAhead) }

func newAffCache(ttl time.Duration, now func() time.Time) *affCache {
	return &affCache{ttl: ttl, now: now, m: map[jid.JID]cacheEntry{}}
}

// get returns room's cached list, if it has not expired. refresh is true
// for the first get of an entry within its last stretch before expiry
// (refreshAge): that caller must read the list again in the background and
// then call fill, or refreshFailed when the read or the fill fails.
func (c *affCache) get(room jid.JID) (r *Room, ok, refresh bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[room]
	if !ok {
		return nil, false, false
	}
	age := c.now().Sub(e.at)
	if age > c.ttl {
		delete(c.m, room)
		return nil, false, false
	}
	if age > c.refreshAge() && !e.refreshing {
		e.refreshing = true
		c.m[room] = e
		refresh = true
	}
	return &Room{JID: room, Version: e.version, Occupants: slices.Clone(e.occupants), members: e.members}, true, refresh
}

// refreshFailed lets a later get ask for room's refresh again (the read
// failed, or a change on this node came first).
func (c *affCache) refreshFailed(room jid.JID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[room]; ok && e.refreshing {
		e.refreshing = false
		c.m[room] = e
	}
}

// generation returns the current update count, to pass to fill.
func (c *affCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// fill caches a list read from storage, unless a change happened since gen;
// it reports whether it did.
func (c *affCache) fill(r *Room, gen uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return false
	}
	c.store(r)
	return true
}

// put caches the list a change on this node produced.
func (c *affCache) put(r *Room) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.store(r)
}

func (c *affCache) store(r *Room) {
	now := c.now()
	if len(c.m) >= cacheMaxEntries {
		for k, e := range c.m {
			if now.Sub(e.at) > c.ttl || len(c.m) >= cacheMaxEntries {
				delete(c.m, k)
			}
			if len(c.m) < cacheMaxEntries/2 {
				break
			}
		}
	}
	// The member list is built from the occupants stored here, never
	// taken from r, so the two cannot disagree.
	occ := slices.Clone(r.Occupants)
	c.m[r.JID] = cacheEntry{occupants: occ, members: occupantJIDs(occ), version: r.Version, at: now}
}

func (c *affCache) drop(room jid.JID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	delete(c.m, room)
}

func (c *affCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = map[jid.JID]cacheEntry{}
}
