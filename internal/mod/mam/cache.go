package mam

import (
	"context"
	"sync"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// ownerCache keeps archive owners' numeric ids (cache_users, MongooseIM's
// mod_cache_users): a segmented cache whose segments rotate every
// time_to_live / number_of_segments, so that an entry lives between
// (n-1)/n and 1 time_to_live after it was stored (or, with the lru
// strategy, last used). An id never changes while its archive exists; the
// cache forgets an owner whose archive is removed.
type ownerCache struct {
	enabled bool
	lru     bool
	every   time.Duration // rotation period; 0: never
	now     func() time.Time

	mu      sync.Mutex
	segs    []map[jid.JID]int64
	rotated time.Time
}

func newOwnerCache(enabled bool, ttl time.Duration, segments int, lru bool, now func() time.Time) *ownerCache {
	if segments < 1 {
		segments = 1
	}
	c := &ownerCache{enabled: enabled, lru: lru, now: now, rotated: now()}
	if ttl > 0 {
		c.every = ttl / time.Duration(segments)
	}
	for range segments {
		c.segs = append(c.segs, map[jid.JID]int64{})
	}
	return c
}

// rotate drops the oldest segment when its period is over; c.mu is held.
func (c *ownerCache) rotate() {
	if c.every <= 0 {
		return
	}
	for now := c.now(); now.Sub(c.rotated) >= c.every; c.rotated = c.rotated.Add(c.every) {
		copy(c.segs[1:], c.segs[:len(c.segs)-1])
		c.segs[0] = map[jid.JID]int64{}
		if now.Sub(c.rotated) > time.Duration(len(c.segs))*c.every {
			// Idle for longer than the whole cache lives: start over.
			for i := range c.segs {
				c.segs[i] = map[jid.JID]int64{}
			}
			c.rotated = now
			return
		}
	}
}

func (c *ownerCache) get(k jid.JID) (int64, bool) {
	if !c.enabled {
		return 0, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate()
	for i, s := range c.segs {
		if id, ok := s[k]; ok {
			if c.lru && i > 0 {
				delete(s, k)
				c.segs[0][k] = id
			}
			return id, true
		}
	}
	return 0, false
}

func (c *ownerCache) put(k jid.JID, id int64) {
	if !c.enabled {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rotate()
	c.segs[0][k] = id
}

func (c *ownerCache) forget(k jid.JID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.segs {
		delete(s, k)
	}
}

// forgetServer forgets the owners of a server (domain removal).
func (c *ownerCache) forgetServer(server string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.segs {
		for k := range s {
			if k.Domain() == server {
				delete(s, k)
			}
		}
	}
}

// ownerID returns the numeric id of the archive of owner (a bare user or
// room JID), 0 when it has none. With create, a missing archive is
// created; with account too, only for a stored account (a message to a
// JID nobody registered is archived nowhere).
func (m *Module) ownerID(ctx context.Context, owner jid.JID, create, account bool) (int64, error) {
	if id, ok := m.owners.get(owner); ok {
		return id, nil
	}
	if create && account && m.accounts != nil {
		ok, err := m.accounts.UserExists(ctx, owner.Domain(), owner.Local())
		if err != nil || !ok {
			return 0, err
		}
	}
	id, err := m.store.OwnerID(ctx, owner.Domain(), owner.Local(), create)
	if err != nil || id == 0 {
		return 0, err
	}
	m.owners.put(owner, id)
	return id, nil
}

// prefsTTL is how long an archive's preferences are kept in memory. A
// change made on this node is seen at once; one made on another node of a
// cluster within prefsTTL (docs/modules/mod_mam.md).
const prefsTTL = time.Minute

// maxCachedPrefs bounds the preferences cache; it starts over when full.
const maxCachedPrefs = 100000

// prefsCache keeps archives' preferences, read on every message.
type prefsCache struct {
	mu sync.Mutex
	m  map[int64]cachedPrefs
}

type cachedPrefs struct {
	p      Prefs
	stored bool
	at     time.Time
}

func (c *prefsCache) get(owner int64, now time.Time) (cachedPrefs, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[owner]
	if !ok || now.Sub(e.at) > prefsTTL {
		return cachedPrefs{}, false
	}
	return e, true
}

func (c *prefsCache) put(owner int64, e cachedPrefs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCachedPrefs {
		c.m = map[int64]cachedPrefs{}
	}
	c.m[owner] = e
}

func (c *prefsCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = nil
}

func (c *prefsCache) forget(owner int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, owner)
}
