package config

import (
	"fmt"
	"sort"
	"strings"
)

// ModMucLight is mod_muc_light, MUC Light group chats (spec/muclight.md §3).
type ModMucLight struct {
	// Host is the service domain pattern; @HOST@ is replaced by each served
	// domain (default "muclight.@HOST@").
	Host string `toml:"host"`
	// Backend is "mnesia" (default; Gander's in-memory store) or "rdbms".
	Backend string `toml:"backend"`
	// EqualOccupants makes creators members and rooms ownerless.
	EqualOccupants bool `toml:"equal_occupants"`
	// RoomsPerUser caps the rooms a user occupies (default infinity).
	RoomsPerUser Limit `toml:"rooms_per_user"`
	// Blocking enables the #blocking feature (default true).
	Blocking bool `toml:"blocking"`
	// AllCanConfigure lets members change any config field.
	AllCanConfigure bool `toml:"all_can_configure"`
	// AllCanInvite lets members add new members.
	AllCanInvite bool `toml:"all_can_invite"`
	// MaxOccupants caps the occupants of a room (default infinity).
	MaxOccupants Limit `toml:"max_occupants"`
	// RoomsPerPage is the disco#items page size (default 10).
	RoomsPerPage Limit `toml:"rooms_per_page"`
	// RoomsInRosters adds the user's rooms to roster fetches.
	RoomsInRosters bool `toml:"rooms_in_rosters"`
	// AllowMultipleOwners keeps the old owner when a new one is made.
	AllowMultipleOwners bool `toml:"allow_multiple_owners"`
	// PromoteOnLastOwnerLeave promotes a member when the last owner leaves
	// (default true).
	PromoteOnLastOwnerLeave bool `toml:"promote_on_last_owner_leave"`
	// ConfigSchema lists the room configuration fields; after check it is
	// sorted and de-duplicated by field name (default roomname, subject).
	ConfigSchema []MucLightField `toml:"config_schema"`
	// CacheAffs configures the occupant cache (time_to_live is used; the
	// other options tune MongooseIM's Erlang cache and are ignored).
	CacheAffs *MucLightCache `toml:"cache_affs"`
	// AccessCreate (Gander) names the access rule of who may create rooms
	// (default "all").
	AccessCreate string `toml:"access_create"`
}

// MucLightField is one config_schema item: a field name, exactly one typed
// default value and an optional internal key.
type MucLightField struct {
	Field        string   `toml:"field"`
	StringValue  *string  `toml:"string_value"`
	IntegerValue *int64   `toml:"integer_value"`
	FloatValue   *float64 `toml:"float_value"`
	BooleanValue *bool    `toml:"boolean_value"`
	InternalKey  string   `toml:"internal_key"`
}

// Type returns "string", "integer", "float" or "boolean".
func (f MucLightField) Type() string {
	switch {
	case f.IntegerValue != nil:
		return "integer"
	case f.FloatValue != nil:
		return "float"
	case f.BooleanValue != nil:
		return "boolean"
	}
	return "string"
}

// MucLightCache is mod_muc_light's cache_affs table.
type MucLightCache struct {
	Strategy         string `toml:"strategy"`
	TimeToLive       int    `toml:"time_to_live"`
	NumberOfSegments int    `toml:"number_of_segments"`
	Module           string `toml:"module"`
}

// MucLightDefaultSchema is the schema used when config_schema is absent.
func MucLightDefaultSchema() []MucLightField {
	untitled, empty := "Untitled", ""
	return []MucLightField{
		{Field: "roomname", StringValue: &untitled, InternalKey: "roomname"},
		{Field: "subject", StringValue: &empty, InternalKey: "subject"},
	}
}

func (m *ModMucLight) check(c *checker, key string) {
	if m.Host == "" && !c.ix.has(key+".host") {
		m.Host = "muclight.@HOST@"
	}
	if h := strings.ReplaceAll(m.Host, "@HOST@", "x"); h == "" || strings.ContainsAny(h, "@/ ") || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") {
		c.errorf(key+".host", "must be a valid subdomain template, got %q", m.Host)
	}
	c.oneOf(key+".backend", &m.Backend, "mnesia", "mnesia", "rdbms")
	c.limitDefault(key+".rooms_per_user", &m.RoomsPerUser, Unlimited)
	c.limitDefault(key+".max_occupants", &m.MaxOccupants, Unlimited)
	c.limitDefault(key+".rooms_per_page", &m.RoomsPerPage, 10)
	c.boolDefault(key+".blocking", &m.Blocking, true)
	c.boolDefault(key+".promote_on_last_owner_leave", &m.PromoteOnLastOwnerLeave, true)
	c.stringDefault(key+".access_create", &m.AccessCreate, "all")
	if !c.ix.has(key + ".config_schema") {
		m.ConfigSchema = MucLightDefaultSchema()
	}
	reserved := map[string]string{"roomname": "string", "all_can_configure": "boolean", "all_can_invite": "boolean"}
	for i := range m.ConfigSchema {
		f := &m.ConfigSchema[i]
		k := fmt.Sprintf("%s.config_schema[%d]", key, i)
		c.required(k+".field", f.Field)
		n := 0
		for _, p := range []bool{f.StringValue != nil, f.IntegerValue != nil, f.FloatValue != nil, f.BooleanValue != nil} {
			if p {
				n++
			}
		}
		if n != 1 {
			c.errorf(k, "must have exactly one of string_value, integer_value, float_value, boolean_value")
		}
		if f.InternalKey == "" {
			if c.ix.has(k + ".internal_key") {
				c.errorf(k+".internal_key", "must not be empty")
			}
			f.InternalKey = f.Field
		}
		if want, ok := reserved[f.InternalKey]; ok && n == 1 && f.Type() != want {
			c.errorf(k, "internal key %q must have a %s value", f.InternalKey, want)
		}
	}
	// spec/muclight.md §4.1: sorted by field name, the first occurrence wins.
	sort.SliceStable(m.ConfigSchema, func(i, j int) bool { return m.ConfigSchema[i].Field < m.ConfigSchema[j].Field })
	out := m.ConfigSchema[:0]
	for _, f := range m.ConfigSchema {
		if len(out) > 0 && out[len(out)-1].Field == f.Field {
			continue
		}
		out = append(out, f)
	}
	m.ConfigSchema = out
	if ca := m.CacheAffs; ca != nil {
		c.oneOf(key+".cache_affs.strategy", &ca.Strategy, "fifo", "fifo", "lru")
		c.intDefault(key+".cache_affs.time_to_live", &ca.TimeToLive, 2, 1)
		c.intDefault(key+".cache_affs.number_of_segments", &ca.NumberOfSegments, 3, 1)
	}
}
