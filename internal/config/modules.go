package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
)

// Modules is the [modules] section. A non-nil field means the module is
// enabled; an empty table such as [modules.mod_presence] enables it with
// defaults.
//
// To add a module: add a pointer field with its MongooseIM table name as the
// toml tag, and give the option type a check(*checker, key) method that
// fills in defaults and validates. Enabled, IsEnabled, validation and
// unknown-module detection pick the field up by reflection.
type Modules struct {
	// Disco is mod_disco (service discovery).
	Disco *ModDisco `toml:"mod_disco"`
	// Presence is mod_presence (presence handling; feeds mod_last).
	Presence *ModPresence `toml:"mod_presence"`
	// Roster is mod_roster.
	Roster *ModRoster `toml:"mod_roster"`
	// Offline is mod_offline (offline message storage).
	Offline *ModOffline `toml:"mod_offline"`
	// Ping is mod_ping (XEP-0199).
	Ping *ModPing `toml:"mod_ping"`
	// Version is mod_version (XEP-0092).
	Version *ModVersion `toml:"mod_version"`
	// CarbonCopy is mod_carboncopy (XEP-0280 Message Carbons).
	CarbonCopy *ModCarbonCopy `toml:"mod_carboncopy"`
	// Register is mod_register (XEP-0077 in-band registration).
	Register *ModRegister `toml:"mod_register"`
	// Last is mod_last (XEP-0012 last activity), spec/last.md §2.
	Last *ModLast `toml:"mod_last"`
	// Broadcast is mod_broadcast, spec/broadcast.md §2. Only its options are
	// known here so that the reference example configuration loads.
	Broadcast *ModBroadcast `toml:"mod_broadcast"`
	// MucLight is mod_muc_light, spec/muclight.md §3.
	MucLight *ModMucLight `toml:"mod_muc_light"`
	// Muc is mod_muc, classic MUC (XEP-0045), docs/modules/mod_muc.md.
	Muc *ModMuc `toml:"mod_muc"`
	// Inbox is mod_inbox, spec/inbox.md §9.
	Inbox *ModInbox `toml:"mod_inbox"`
	// Mam is mod_mam, the message archive (docs/modules/mod_mam.md); its pm
	// and muc parts are the modules mod_mam_pm and mod_mam_muc.
	Mam *ModMam `toml:"mod_mam"`
}

// module is implemented by every module option type.
type module interface {
	// check fills in defaults and validates; key is "modules.mod_x" or
	// "host_config[i].modules.mod_x".
	check(c *checker, key string)
}

// each calls fn for every enabled module, in field order.
func (m *Modules) each(fn func(name string, mod module)) {
	v := reflect.ValueOf(m).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := v.Field(i)
		if f.Kind() != reflect.Pointer || f.IsNil() {
			continue
		}
		if mod, ok := f.Interface().(module); ok {
			fn(tomlName(t.Field(i)), mod)
		}
	}
}

// Enabled returns the names of the enabled modules ("mod_roster", ...), in
// declaration order.
func (m *Modules) Enabled() []string {
	var names []string
	m.each(func(name string, _ module) { names = append(names, name) })
	return names
}

// IsEnabled reports whether the module with the given MongooseIM name
// ("mod_last") is enabled.
func (m *Modules) IsEnabled(name string) bool {
	switch name {
	case "mod_mam_pm":
		return m.Mam != nil && m.Mam.PM != nil
	case "mod_mam_muc":
		return m.Mam != nil && m.Mam.Muc != nil
	}
	found := false
	m.each(func(n string, _ module) { found = found || n == name })
	return found
}

func (m *Modules) check(c *checker, key string) {
	m.each(func(name string, mod module) { mod.check(c, key+"."+name) })
}

// knownModule reports whether Modules has a field for name.
func knownModule(name string) bool {
	return slicesContain(moduleNames(), name)
}

// moduleNames are the modules of the schema.
func moduleNames() []string { return tomlNames(reflect.TypeFor[Modules]()) }

func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// IQDisc is a module's IQ processing policy (spec/server.md §1.4), written
// iqdisc.type = "..." or as an [modules.mod_x.iqdisc] table.
type IQDisc struct {
	// Type is "one_queue", "no_queue", "queues" or "parallel".
	Type string `toml:"type"`
	// Workers is the number of workers, required (> 0) with "queues" only.
	Workers int `toml:"workers"`
}

// check applies the module's default policy def and validates.
func (q *IQDisc) check(c *checker, key, def string) {
	key += ".iqdisc"
	c.oneOf(key+".type", &q.Type, def, "one_queue", "no_queue", "queues", "parallel")
	switch {
	case q.Type == "queues" && q.Workers <= 0 && !c.ix.has(key+".workers"):
		c.errorf(key+".workers", `is required when iqdisc.type is "queues"`)
	case q.Type == "queues" && q.Workers <= 0:
		c.errorf(key+".workers", "must be a positive integer, got %d", q.Workers)
	case q.Type != "queues" && c.ix.has(key+".workers"):
		c.errorf(key+".workers", `is only allowed when iqdisc.type is "queues", not %q`, q.Type)
	}
}

// ModPresence is mod_presence; it has no options.
type ModPresence struct{}

func (*ModPresence) check(*checker, string) {}

// ModDisco is mod_disco.
type ModDisco struct {
	// IQDisc defaults to one_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// ExtraDomains are extra service domains listed in disco#items.
	ExtraDomains []string `toml:"extra_domains"`
	// ServerInfo adds XEP-0157 contact addresses to disco#info.
	ServerInfo []ServerInfo `toml:"server_info"`
	// UsersCanSeeHiddenServices defaults to true.
	UsersCanSeeHiddenServices bool `toml:"users_can_see_hidden_services"`
}

// ServerInfo is one server_info entry of mod_disco.
type ServerInfo struct {
	// Name is the field name, e.g. "abuse-addresses".
	Name string `toml:"name"`
	// URLs are the field values.
	URLs []string `toml:"urls"`
	// Modules restricts the entry to hosts running these modules.
	Modules []string `toml:"modules"`
}

func (m *ModDisco) check(c *checker, key string) {
	m.IQDisc.check(c, key, "one_queue")
	c.boolDefault(key+".users_can_see_hidden_services", &m.UsersCanSeeHiddenServices, true)
	for i, s := range m.ServerInfo {
		k := fmt.Sprintf("%s.server_info[%d]", key, i)
		c.required(k+".name", s.Name)
		if len(s.URLs) == 0 {
			c.errorf(k+".urls", "is required and must not be empty")
		}
	}
}

// ModRoster is mod_roster.
type ModRoster struct {
	// IQDisc defaults to one_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// Versioning enables roster versioning (XEP-0237).
	Versioning bool `toml:"versioning"`
	// StoreCurrentID stores the current roster version.
	StoreCurrentID bool `toml:"store_current_id"`
	// Backend is "rdbms" (Gander's default) or "mnesia", which Gander
	// accepts with a warning: rosters are always stored in the database.
	Backend string `toml:"backend"`
}

func (m *ModRoster) check(c *checker, key string) {
	m.IQDisc.check(c, key, "one_queue")
	c.oneOf(key+".backend", &m.Backend, "rdbms", "mnesia", "rdbms")
	if m.Backend == "mnesia" {
		c.warnf(key+".backend", `accepted and ignored: Gander stores rosters in the database whatever the backend (as with "rdbms")`)
	}
}

// ModOffline is mod_offline.
type ModOffline struct {
	// AccessMaxUserMessages names the access rule of the MongooseIM
	// per-user limit (default "max_user_offline_messages"). Not implemented
	// yet: a configuration that defines the rule is refused; see
	// MaxMessages.
	AccessMaxUserMessages string `toml:"access_max_user_messages"`
	// Backend is "rdbms" (Gander's default) or "mnesia", which Gander
	// accepts with a warning: messages are always stored in the database.
	Backend string `toml:"backend"`
	// StoreGroupchatMessages also stores groupchat messages.
	StoreGroupchatMessages bool `toml:"store_groupchat_messages"`
	// MaxMessages (Gander) caps the stored messages per user (default 1000,
	// Unlimited = no cap).
	MaxMessages Limit `toml:"max_messages"`
}

func (m *ModOffline) check(c *checker, key string) {
	if m.AccessMaxUserMessages == "" {
		m.AccessMaxUserMessages = "max_user_offline_messages"
	}
	c.oneOf(key+".backend", &m.Backend, "rdbms", "mnesia", "rdbms")
	if m.Backend == "mnesia" {
		c.warnf(key+".backend", `accepted and ignored: Gander stores offline messages in the database whatever the backend (as with "rdbms")`)
	}
	c.limitDefault(key+".max_messages", &m.MaxMessages, 1000)
}

// ModPing is mod_ping.
type ModPing struct {
	// IQDisc defaults to no_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// SendPings makes the server ping idle clients (default false).
	SendPings bool `toml:"send_pings"`
	// PingInterval is in seconds (default 60).
	PingInterval int `toml:"ping_interval"`
	// TimeoutAction is "none" (default) or "kill".
	TimeoutAction string `toml:"timeout_action"`
	// PingReqTimeout is in seconds (default 32).
	PingReqTimeout int `toml:"ping_req_timeout"`
}

func (m *ModPing) check(c *checker, key string) {
	m.IQDisc.check(c, key, "no_queue")
	c.intDefault(key+".ping_interval", &m.PingInterval, 60, 1)
	c.oneOf(key+".timeout_action", &m.TimeoutAction, "none", "none", "kill")
	c.intDefault(key+".ping_req_timeout", &m.PingReqTimeout, 32, 1)
}

// ModVersion is mod_version.
type ModVersion struct {
	// IQDisc defaults to no_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// OSInfo includes the operating system in replies (default false).
	OSInfo bool `toml:"os_info"`
}

func (m *ModVersion) check(c *checker, key string) {
	m.IQDisc.check(c, key, "no_queue")
}

// ModCarbonCopy is mod_carboncopy (XEP-0280 Message Carbons).
type ModCarbonCopy struct {
	// IQDisc defaults to no_queue (as in MongooseIM).
	IQDisc IQDisc `toml:"iqdisc"`
}

func (m *ModCarbonCopy) check(c *checker, key string) {
	m.IQDisc.check(c, key, "no_queue")
}

// ModRegister is mod_register.
type ModRegister struct {
	// IQDisc defaults to one_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// Access names the access rule allowing registration (default "all").
	// Accepted only: Gander does not evaluate access rules yet.
	Access string `toml:"access"`
	// RegistrationWatchers are JIDs notified of new accounts.
	RegistrationWatchers []string `toml:"registration_watchers"`
	// WelcomeMessage is sent to new accounts when non-nil.
	WelcomeMessage *WelcomeMessage `toml:"welcome_message"`
	// IPAccess restricts registration by source address.
	IPAccess []IPAccess `toml:"ip_access"`
	// PasswordStrength is the minimum entropy in bits (0 = no check).
	PasswordStrength int `toml:"password_strength"`
}

// WelcomeMessage is mod_register's welcome_message.
type WelcomeMessage struct {
	// Subject of the message.
	Subject string `toml:"subject"`
	// Body of the message.
	Body string `toml:"body"`
}

// IPAccess is one mod_register ip_access rule.
type IPAccess struct {
	// Address is an IP address or CIDR prefix.
	Address string `toml:"address"`
	// Policy is "allow" or "deny".
	Policy string `toml:"policy"`
}

func (m *ModRegister) check(c *checker, key string) {
	m.IQDisc.check(c, key, "one_queue")
	if m.Access == "" {
		m.Access = "all"
	}
	c.intDefault(key+".password_strength", &m.PasswordStrength, 0, 0)
	for i := range m.IPAccess {
		k := fmt.Sprintf("%s.ip_access[%d]", key, i)
		a := &m.IPAccess[i]
		if c.required(k+".address", a.Address) {
			if _, err := netip.ParsePrefix(a.Address); err != nil {
				if _, err := netip.ParseAddr(a.Address); err != nil {
					c.errorf(k+".address", "must be an IP address or CIDR prefix, got %q", a.Address)
				}
			}
		}
		c.oneOf(k+".policy", &a.Policy, "", "allow", "deny")
		if a.Policy == "" {
			c.errorf(k+".policy", "is required")
		}
	}
}

// ModLast is mod_last (spec/last.md §2).
type ModLast struct {
	// IQDisc defaults to one_queue.
	IQDisc IQDisc `toml:"iqdisc"`
	// Backend is "mnesia" (default; in-memory) or "rdbms".
	Backend string `toml:"backend"`
}

func (m *ModLast) check(c *checker, key string) {
	m.IQDisc.check(c, key, "one_queue")
	c.oneOf(key+".backend", &m.Backend, "mnesia", "mnesia", "rdbms")
}

// ModBroadcast is mod_broadcast (spec/broadcast.md §2).
type ModBroadcast struct {
	// Backend must be "rdbms" (the default).
	Backend string `toml:"backend"`
	// LeaseTime is in seconds (default 600, at least MinBroadcastLeaseTime).
	LeaseTime int `toml:"lease_time"`
}

// MinBroadcastLeaseTime is the smallest mod_broadcast lease_time, in
// seconds (docs/modules/mod_broadcast.md).
const MinBroadcastLeaseTime = 10

func (m *ModBroadcast) check(c *checker, key string) {
	c.oneOf(key+".backend", &m.Backend, "rdbms", "rdbms")
	c.intDefault(key+".lease_time", &m.LeaseTime, 600, 1)
	if m.LeaseTime >= 1 {
		m.checkLease(c, key)
	}
}

func (m *ModBroadcast) checkLease(c *checker, key string) {
	if m.LeaseTime < MinBroadcastLeaseTime {
		c.errorf(key+".lease_time", "lease_time is %d, the minimum is %d seconds (mod_broadcast_invalid_lease_time)", m.LeaseTime, MinBroadcastLeaseTime)
	}
}
