package config

import (
	"runtime"
	"slices"
	"strings"
)

// ModInbox is mod_inbox, the server-side conversation list (spec/inbox.md
// §9).
type ModInbox struct {
	// IQDisc defaults to no_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// Backend is "rdbms" (default; synchronous writes) or "rdbms_async".
	Backend string `toml:"backend"`
	// AsyncWriter configures the asynchronous writer; present (with its
	// defaults) whatever the backend.
	AsyncWriter InboxAsyncWriter `toml:"async_writer"`
	// ResetMarkers are the chat markers that reset the unread count
	// (default ["displayed"]).
	ResetMarkers []string `toml:"reset_markers"`
	// Groupchat lists the group-chat kinds that update entries (default
	// ["muclight"]).
	Groupchat []string `toml:"groupchat"`
	// AffChanges stores MUC Light affiliation changes (default true).
	AffChanges bool `toml:"aff_changes"`
	// RemoveOnKicked removes a MUC Light entry on kick and room
	// destruction (default true).
	RemoveOnKicked bool `toml:"remove_on_kicked"`
	// Boxes are the custom boxes; after check, Boxes holds only them and
	// AllBoxes returns the effective list.
	Boxes []string `toml:"boxes"`
	// BinTTL is the age in days after which the cleaner purges bin entries
	// (default 30).
	BinTTL int `toml:"bin_ttl"`
	// BinCleanAfter is the cleaner period in hours (default 1).
	BinCleanAfter int `toml:"bin_clean_after"`
	// DeleteDomainLimit is the batch size of domain removal (default
	// infinity).
	DeleteDomainLimit Limit `toml:"delete_domain_limit"`
	// MaxResultLimit caps the entries of one inbox query (default
	// infinity).
	MaxResultLimit Limit `toml:"max_result_limit"`
}

// InboxAsyncWriter is mod_inbox's async_writer table.
type InboxAsyncWriter struct {
	// PoolSize is the number of workers (default 2 x CPU cores).
	PoolSize int `toml:"pool_size"`
	// FlushInterval is how long, in milliseconds, a conversation's writes
	// are merged before they are written (Gander; default 1000, 0 writes as
	// soon as a worker is free, like the reference).
	FlushInterval int `toml:"flush_interval"`
	// BatchSize caps the conversations written by one flush (Gander;
	// default 500); a full batch does not wait for the interval.
	BatchSize int `toml:"batch_size"`
}

// InboxReservedBoxes are the built-in boxes, in the order they are listed.
var InboxReservedBoxes = []string{"inbox", "archive", "bin"}

// AllBoxes returns the effective box list: inbox, archive, bin, then the
// custom boxes in configuration order.
func (m *ModInbox) AllBoxes() []string {
	return append(slices.Clone(InboxReservedBoxes), m.Boxes...)
}

// HasGroupchat reports whether kind ("muc" or "muclight") is enabled.
func (m *ModInbox) HasGroupchat(kind string) bool { return slices.Contains(m.Groupchat, kind) }

func (m *ModInbox) check(c *checker, key string) {
	m.IQDisc.check(c, key, "no_queue")
	c.oneOf(key+".backend", &m.Backend, "rdbms", "rdbms", "rdbms_async")
	c.intDefault(key+".async_writer.pool_size", &m.AsyncWriter.PoolSize, 2*runtime.NumCPU(), 1)
	c.intDefault(key+".async_writer.flush_interval", &m.AsyncWriter.FlushInterval, 1000, 0)
	c.intDefault(key+".async_writer.batch_size", &m.AsyncWriter.BatchSize, 500, 1)
	if !c.ix.has(key + ".reset_markers") {
		m.ResetMarkers = []string{"displayed"}
	}
	c.listOf(key+".reset_markers", m.ResetMarkers, "displayed", "received", "acknowledged")
	if !c.ix.has(key + ".groupchat") {
		m.Groupchat = []string{"muclight"}
	}
	c.listOf(key+".groupchat", m.Groupchat, "muc", "muclight")
	c.boolDefault(key+".aff_changes", &m.AffChanges, true)
	c.boolDefault(key+".remove_on_kicked", &m.RemoveOnKicked, true)
	c.listOf(key+".boxes", m.Boxes)
	for i, b := range m.Boxes {
		k := key + ".boxes[" + itoa(i) + "]"
		switch {
		case strings.TrimSpace(b) == "":
			c.errorf(k, "must be a non-empty string")
		case b == "all" || slices.Contains(InboxReservedBoxes, b):
			c.errorf(k, "%q is a reserved box name (all, inbox, archive, bin)", b)
		}
	}
	c.intDefault(key+".bin_ttl", &m.BinTTL, 30, 0)
	c.intDefault(key+".bin_clean_after", &m.BinCleanAfter, 1, 1)
	c.positiveLimit(key+".delete_domain_limit", &m.DeleteDomainLimit)
	c.positiveLimit(key+".max_result_limit", &m.MaxResultLimit)
}

// positiveLimit checks a Limit that must be a positive integer or
// "infinity" (default): 0 is refused even though it decodes as Unlimited.
func (c *checker) positiveLimit(key string, l *Limit) {
	if !c.ix.has(key) {
		*l = Unlimited
		return
	}
	raw := strings.Trim(c.ix.raw[key], `"'`)
	switch {
	case *l == limitInvalid || *l < 0 || (*l == Unlimited && raw != "infinity"):
		c.errorf(key, `must be a positive integer or "infinity", got %s`, c.ix.raw[key])
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
