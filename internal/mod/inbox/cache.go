package inbox

import (
	"sync"
	"sync/atomic"

	"github.com/gander-xmpp/gander/internal/jid"
)

// cacheLimit bounds each of the module's caches; a full cache is emptied
// and refills from the database (a cheap, allocation-free bound).
const cacheLimit = 200_000

// notArchived remembers conversations known not to be in the archive box,
// so that a new message need not read the entry before writing it. The
// read exists only for the automatic un-archive notification (§8.7): a new
// message moves an archived entry back to the inbox and the owner's
// resources are told. A write never moves an entry into the archive (new
// messages leave bin and custom boxes alone and bring archived entries back
// to the inbox), and removals leave no archived entry, so after a write the
// entry is known not archived until a property set changes its box. With
// rdbms the read is the message path's, just before the write; with
// rdbms_async it is the flush's (checkArchive), batched, never on the
// sender's goroutine.
//
// A property set bumps epoch after its store call and then forgets the
// key; a write remembers its key only if epoch did not move while it ran,
// so a concurrent property set can never be overwritten by a stale "not
// archived". The cache is per node: with several nodes writing one
// database, a property set on another node is not seen here (Gander has no
// cluster routing of c2s sessions yet, so one node owns a user's sessions).
//
// rooms lists MUC Light rooms (rdbms_async) with their version and the
// members that are existing local accounts: a message to a listed room at
// the same version skips the per-member account checks (the archive check
// is the flush's). Forgetting any of the room's keys, or any owner, unlists
// rooms.
type notArchived struct {
	mu    sync.Mutex
	keys  map[taskKey]struct{}
	rooms map[string]knownRoom
	epoch atomic.Uint64
}

// knownRoom is a listed room: its version and its members' bare JIDs.
type knownRoom struct {
	version string
	members []jid.JID
}

// room returns room's members if it is listed at version.
func (c *notArchived) room(room, version string) ([]jid.JID, bool) {
	c.mu.Lock()
	r, ok := c.rooms[room]
	c.mu.Unlock()
	if !ok || r.version != version {
		return nil, false
	}
	return r.members, true
}

// rememberRoom lists room at version with members, unless a property set
// ran since epoch was read as e.
func (c *notArchived) rememberRoom(room, version string, members []jid.JID, e uint64) {
	c.mu.Lock()
	if c.epoch.Load() == e {
		if c.rooms == nil || len(c.rooms) >= cacheLimit {
			c.rooms = make(map[string]knownRoom)
		}
		c.rooms[room] = knownRoom{version, members}
	}
	c.mu.Unlock()
}

func (c *notArchived) known(k taskKey) bool {
	c.mu.Lock()
	_, ok := c.keys[k]
	c.mu.Unlock()
	return ok
}

// remember records k as not archived, unless a property set ran since
// epoch was read as e.
func (c *notArchived) remember(k taskKey, e uint64) {
	c.mu.Lock()
	if c.epoch.Load() == e {
		if c.keys == nil || len(c.keys) >= cacheLimit {
			c.keys = make(map[taskKey]struct{})
		}
		c.keys[k] = struct{}{}
	}
	c.mu.Unlock()
}

// changed is called after a property set stored new properties for k.
func (c *notArchived) changed(k taskKey) {
	c.mu.Lock()
	c.epoch.Add(1)
	delete(c.keys, k)
	delete(c.rooms, k.Remote)
	c.mu.Unlock()
}

// forgetOwner drops every key of o and unlists every room (user
// removal); the epoch moves so that writes racing with it remember nothing.
func (c *notArchived) forgetOwner(o Owner) {
	c.mu.Lock()
	c.epoch.Add(1)
	clear(c.rooms)
	for k := range c.keys {
		if k.Owner == o {
			delete(c.keys, k)
		}
	}
	c.mu.Unlock()
}

// existing remembers local accounts known to exist, so that the account
// check of every stored message (§8.2) does not query the database each
// time. Account removal forgets the user (the UserRemoved hook runs before
// the module purges the inbox).
type existing struct {
	mu    sync.Mutex
	users map[jid.JID]struct{}
}

func (c *existing) known(u jid.JID) bool {
	c.mu.Lock()
	_, ok := c.users[u]
	c.mu.Unlock()
	return ok
}

func (c *existing) remember(u jid.JID) {
	c.mu.Lock()
	if c.users == nil || len(c.users) >= cacheLimit {
		c.users = make(map[jid.JID]struct{})
	}
	c.users[u] = struct{}{}
	c.mu.Unlock()
}

func (c *existing) forget(u jid.JID) {
	c.mu.Lock()
	delete(c.users, u)
	c.mu.Unlock()
}
