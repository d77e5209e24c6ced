package config

import (
	"reflect"
	"runtime"
	"strings"
)

// ModMam is mod_mam, the message archive (XEP-0313); docs/modules/mod_mam.md.
// It is a meta-module, as in MongooseIM: the root table holds the common
// options, [modules.mod_mam.pm] turns on the one-to-one archive
// (mod_mam_pm) and [modules.mod_mam.muc] the room archive (mod_mam_muc).
// A part is on as soon as its table exists, or any key under it is set.
// Any common option may be repeated inside pm or muc to override the root
// value for that part; after check, PM.MamOptions and Muc.MamOptions hold
// the effective values.
type ModMam struct {
	MamOptions
	// PM is the one-to-one archive, nil when off.
	PM *MamPM `toml:"pm"`
	// Muc is the room archive, nil when off.
	Muc *MamMuc `toml:"muc"`
}

// MamOptions are mod_mam's common options.
type MamOptions struct {
	// IQDisc is the processing policy of the archive's IQs (Gander's
	// default "parallel": a slow query does not hold the others up).
	IQDisc IQDisc `toml:"iqdisc"`
	// Backend is "rdbms" (the SQL database of the default pool).
	Backend string `toml:"backend"`
	// NoStanzaIDElement archives without adding <stanza-id/> to delivered
	// messages.
	NoStanzaIDElement bool `toml:"no_stanzaid_element"`
	// IsArchivableMessage and SendMessage name Erlang modules; only the
	// built-in "mod_mam_utils" is accepted.
	IsArchivableMessage string `toml:"is_archivable_message"`
	SendMessage         string `toml:"send_message"`
	// ArchiveChatMarkers also archives XEP-0333 markers without a body.
	ArchiveChatMarkers bool `toml:"archive_chat_markers"`
	// MessageRetraction turns XEP-0424 retractions into tombstones
	// (default true).
	MessageRetraction bool `toml:"message_retraction"`
	// UserPrefsStore is "rdbms" or "mnesia" (both kept in SQL by Gander),
	// or "" (unset): preferences cannot be set.
	UserPrefsStore string `toml:"user_prefs_store"`
	// FullTextSearch enables the fulltext query field (default true).
	FullTextSearch bool `toml:"full_text_search"`
	// CacheUsers caches the archive owners' numeric ids (default true).
	CacheUsers bool `toml:"cache_users"`
	// Cache is mod_cache_users' tuning, accepted as in MongooseIM.
	Cache MamCache `toml:"cache"`
	// DefaultResultLimit is the page size without <max/> (default 50).
	DefaultResultLimit int `toml:"default_result_limit"`
	// MaxResultLimit is the largest page (default 50).
	MaxResultLimit int `toml:"max_result_limit"`
	// EnforceSimpleQueries answers every query as with simple=true.
	EnforceSimpleQueries bool `toml:"enforce_simple_queries"`
	// DeleteDomainLimit is the rows per delete batch on domain removal
	// (default infinity).
	DeleteDomainLimit Limit `toml:"delete_domain_limit"`
	// DBJIDFormat and DBMessageFormat name Erlang modules; accepted and
	// ignored (Gander's storage format is its own).
	DBJIDFormat     string `toml:"db_jid_format"`
	DBMessageFormat string `toml:"db_message_format"`
	// ExtraFinElement and ExtraLookupParams name Erlang modules; refused.
	ExtraFinElement   string `toml:"extra_fin_element"`
	ExtraLookupParams string `toml:"extra_lookup_params"`
	// AsyncWriter configures the asynchronous batched writer.
	AsyncWriter MamAsyncWriter `toml:"async_writer"`
}

// MamCache is mod_mam's cache table (mod_cache_users' options).
type MamCache struct {
	Strategy         string `toml:"strategy"`
	TimeToLive       Limit  `toml:"time_to_live"`
	NumberOfSegments int    `toml:"number_of_segments"`
	Module           string `toml:"module"`
}

// MamAsyncWriter is mod_mam's async_writer table.
type MamAsyncWriter struct {
	// Enabled writes rows asynchronously, in batches (default true).
	Enabled bool `toml:"enabled"`
	// FlushInterval is the longest time, in ms, a row waits (default
	// 2000).
	FlushInterval int `toml:"flush_interval"`
	// BatchSize triggers an immediate flush and caps the rows of one
	// INSERT (default 30).
	BatchSize int `toml:"batch_size"`
	// PoolSize is the number of writer shards (default 4 × CPU cores).
	PoolSize int `toml:"pool_size"`
}

// MamPM is [modules.mod_mam.pm].
type MamPM struct {
	MamOptions
	// ArchiveGroupchats also archives incoming groupchat copies in each
	// member's own archive.
	ArchiveGroupchats bool `toml:"archive_groupchats"`
	// SameMamIDForPeers makes the recipient's row reuse the sender's id.
	SameMamIDForPeers bool `toml:"same_mam_id_for_peers"`
}

// MamMuc is [modules.mod_mam.muc].
type MamMuc struct {
	MamOptions
	// Host is the room service archived (default "conference.@HOST@";
	// "muclight.@HOST@" for MUC Light).
	Host string `toml:"host"`
}

func (m *ModMam) check(c *checker, key string) {
	m.MamOptions.check(c, key)
	if m.PM != nil {
		k := key + ".pm"
		m.PM.MamOptions.check(c, k)
		m.PM.MamOptions.inherit(c, k, m.MamOptions)
	}
	if m.Muc != nil {
		k := key + ".muc"
		m.Muc.MamOptions.check(c, k)
		m.Muc.MamOptions.inherit(c, k, m.MamOptions)
		if m.Muc.Host == "" && !c.ix.has(k+".host") {
			m.Muc.Host = "conference.@HOST@"
		}
		if h := strings.ReplaceAll(m.Muc.Host, "@HOST@", "x"); h == "" || strings.ContainsAny(h, "@/ ") || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
			c.errorf(k+".host", "must be a valid subdomain template, got %q", m.Muc.Host)
		}
	}
}

// check applies the defaults of the options not written under key and
// validates those written.
func (o *MamOptions) check(c *checker, key string) {
	o.IQDisc.check(c, key, "parallel")
	switch o.Backend {
	case "cassandra", "elasticsearch":
		c.errorf(key+".backend", `must be "rdbms": Gander keeps the archive in its SQL database, got %q`, o.Backend)
	default:
		c.oneOf(key+".backend", &o.Backend, "rdbms", "rdbms")
	}
	for _, k := range []struct {
		name string
		v    *string
	}{{"is_archivable_message", &o.IsArchivableMessage}, {"send_message", &o.SendMessage}} {
		if *k.v == "" && !c.ix.has(key+"."+k.name) {
			*k.v = "mod_mam_utils"
		}
		if *k.v != "mod_mam_utils" {
			c.errorf(key+"."+k.name, `must be "mod_mam_utils" (Gander's built-in rules; other Erlang modules cannot be loaded), got %q`, *k.v)
		}
	}
	c.boolDefault(key+".message_retraction", &o.MessageRetraction, true)
	switch o.UserPrefsStore {
	case "cassandra":
		c.errorf(key+".user_prefs_store", `must be "rdbms" or "mnesia" (both kept in SQL by Gander), got %q`, o.UserPrefsStore)
	case "":
		if c.ix.has(key + ".user_prefs_store") {
			c.errorf(key+".user_prefs_store", `must be "rdbms" or "mnesia", got ""`)
		}
	default:
		c.oneOf(key+".user_prefs_store", &o.UserPrefsStore, "", "rdbms", "mnesia")
	}
	c.boolDefault(key+".full_text_search", &o.FullTextSearch, true)
	c.boolDefault(key+".cache_users", &o.CacheUsers, true)
	c.oneOf(key+".cache.strategy", &o.Cache.Strategy, "fifo", "fifo", "lru")
	c.limitDefault(key+".cache.time_to_live", &o.Cache.TimeToLive, 480)
	c.intDefault(key+".cache.number_of_segments", &o.Cache.NumberOfSegments, 3, 1)
	c.oneOf(key+".cache.module", &o.Cache.Module, "internal", "internal", "mod_cache_users")
	c.intDefault(key+".default_result_limit", &o.DefaultResultLimit, 50, 0)
	c.intDefault(key+".max_result_limit", &o.MaxResultLimit, 50, 0)
	c.positiveLimit(key+".delete_domain_limit", &o.DeleteDomainLimit)
	if o.ExtraFinElement != "" || c.ix.has(key+".extra_fin_element") {
		c.errorf(key+".extra_fin_element", "is not supported: it names an Erlang module, which Gander cannot load")
	}
	if o.ExtraLookupParams != "" || c.ix.has(key+".extra_lookup_params") {
		c.errorf(key+".extra_lookup_params", "is not supported: it names an Erlang module, which Gander cannot load")
	}
	c.boolDefault(key+".async_writer.enabled", &o.AsyncWriter.Enabled, true)
	c.intDefault(key+".async_writer.flush_interval", &o.AsyncWriter.FlushInterval, 2000, 0)
	c.intDefault(key+".async_writer.batch_size", &o.AsyncWriter.BatchSize, 30, 1)
	c.intDefault(key+".async_writer.pool_size", &o.AsyncWriter.PoolSize, 4*runtime.NumCPU(), 1)
}

// inherit copies into o, a part's options checked under key, every value
// of root whose key is not written under key: a part overrides only what
// it names.
func (o *MamOptions) inherit(c *checker, key string, root MamOptions) {
	inheritFields(c, key, reflect.ValueOf(o).Elem(), reflect.ValueOf(root))
}

func inheritFields(c *checker, key string, dst, src reflect.Value) {
	t := dst.Type()
	for i := range t.NumField() {
		k := key + "." + tomlName(t.Field(i))
		if dst.Field(i).Kind() == reflect.Struct {
			inheritFields(c, k, dst.Field(i), src.Field(i))
			continue
		}
		if !c.ix.has(k) {
			dst.Field(i).Set(src.Field(i))
		}
	}
}

// Part returns the effective options of the one-to-one archive ("pm") or
// the room archive ("muc"), and whether that part is on.
func (m *ModMam) Part(name string) (MamOptions, bool) {
	switch {
	case name == "pm" && m.PM != nil:
		return m.PM.MamOptions, true
	case name == "muc" && m.Muc != nil:
		return m.Muc.MamOptions, true
	}
	return MamOptions{}, false
}
