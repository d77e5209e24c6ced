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
// cluster can go unseen. The strategy and segment options are accepted but
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
}

func newAffCache(ttl time.Duration, now func() time.Time) *affCache {
	return &affCache{ttl: ttl, now: now, m: map[jid.JID]cacheEntry{}}
}

func (c *affCache) get(room jid.JID) (*Room, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[room]
	if !ok {
		return nil, false
	}
	if c.now().Sub(e.at) > c.ttl {
		delete(c.m, room)
		return nil, false
	}
	return &Room{JID: room, Version: e.version, Occupants: slices.Clone(e.occupants), members: e.members}, true
}

// generation returns the current update count, to pass to fill.
func (c *affCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// fill caches a list read from storage, unless a change happened since gen.
func (c *affCache) fill(r *Room, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.store(r)
	}
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
