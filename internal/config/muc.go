package config

import "strings"

// ModMuc is mod_muc, classic Multi-User Chat (XEP-0045); docs/modules/mod_muc.md.
// Option names follow MongooseIM's [modules.mod_muc]; only the options
// listed here are known.
type ModMuc struct {
	// Host is the service domain pattern; @HOST@ is replaced by each served
	// domain (default "conference.@HOST@").
	Host string `toml:"host"`
	// Backend is "mnesia" (default), Gander's in-memory room registry. Rooms
	// are not persisted yet.
	Backend string `toml:"backend"`
	// HistorySize is the number of groupchat messages a room keeps for
	// replay on join (default 20, 0 disables history).
	HistorySize int `toml:"history_size"`
	// RoomQueueSize (Gander) bounds the stanzas a room may hold waiting to
	// be routed (default 10000); see docs/modules/mod_muc.md.
	RoomQueueSize int `toml:"room_queue_size"`
	// Access names the access rule of who may use the service (default
	// "all").
	Access string `toml:"access"`
	// AccessCreate names the access rule of who may create rooms (default
	// "all").
	AccessCreate string `toml:"access_create"`
	// AccessAdmin names the access rule of who administers every room
	// (default "none").
	AccessAdmin string `toml:"access_admin"`
	// AccessPersistent names the access rule of who may make rooms
	// persistent (default "all").
	AccessPersistent string `toml:"access_persistent"`
}

func (m *ModMuc) check(c *checker, key string) {
	if m.Host == "" && !c.ix.has(key+".host") {
		m.Host = "conference.@HOST@"
	}
	if h := strings.ReplaceAll(m.Host, "@HOST@", "x"); h == "" || strings.ContainsAny(h, "@/ ") || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
		c.errorf(key+".host", "must be a valid subdomain template, got %q", m.Host)
	}
	c.oneOf(key+".backend", &m.Backend, "mnesia", "mnesia")
	c.intDefault(key+".history_size", &m.HistorySize, 20, 0)
	c.intDefault(key+".room_queue_size", &m.RoomQueueSize, 10000, 1)
	c.stringDefault(key+".access", &m.Access, "all")
	c.stringDefault(key+".access_create", &m.AccessCreate, "all")
	c.stringDefault(key+".access_admin", &m.AccessAdmin, "none")
	c.stringDefault(key+".access_persistent", &m.AccessPersistent, "all")
}
