package config

import (
	"sort"
	"strings"
)

// How Gander treats each configuration key (docs/configuration.md, "What
// Gander does with each key"). A key is one of:
//
//   - implemented: Gander acts on it. This is every key of the schema that
//     no rule below names, so it needs no entry;
//   - not implemented yet: the key is MongooseIM's and means something Gander
//     does not do (yet). Writing it is an error that says so: a file that
//     loads never asks for behaviour Gander lacks;
//   - ignored: the key has no meaning in Gander (Erlang process tuning, a
//     choice of Erlang library). It is accepted so that MongooseIM files load,
//     and check-config and serve print a warning for it.
//
// To implement a key, delete its line from notImplemented (and its "accepted
// only" wording from docs/configuration.md); TestSupportRulesNameRealKeys
// keeps the lists in step with the schema. Checks that depend on the value
// (for example "only false is implemented") use a rule with okValues, or
// checker.notImplemented in the section's check method.
type supportRule struct {
	// pattern is a key with array indexes left out and * for any one part
	// (a table name such as a pool tag): "listen.c2s.backlog". A rule on a
	// table covers every key under it, reported once at the table.
	pattern string
	// what completes "Gander does not implement ... yet" (notImplemented)
	// or "accepted and ignored: ..." (ignored).
	what string
	// hint, if not empty, says what to do instead.
	hint string
	// okValues are values, as written but without quotes, for which the
	// key is fine after all (the value that means what Gander does anyway,
	// such as false for a feature switch).
	okValues []string
}

// notImplementedRules lists MongooseIM keys whose feature Gander lacks.
func notImplementedRules() []supportRule {
	return []supportRule{
		{pattern: "general.host_types", what: "dynamic domains (host types)"},
		{pattern: "general.registration_timeout", what: "in-band registration, which this option throttles"},
		{pattern: "general.hide_service_name", what: "hiding the service name", okValues: []string{"false"}},
		{pattern: "general.route_subdomains", what: "server-to-server routing"},
		{pattern: "general.language", what: "server messages in languages other than English", okValues: []string{"en"}},
		{pattern: "general.http_server_name", what: "a custom HTTP Server header"},
		{pattern: "listen.s2s", what: "server-to-server connections"},
		{pattern: "listen.component", what: "external components (XEP-0114)"},
		{pattern: "listen.c2s.proxy_protocol", what: "the PROXY protocol", okValues: []string{"false"}},
		{pattern: "listen.c2s.reuse_port", what: "SO_REUSEPORT listeners", okValues: []string{"false"}},
		{pattern: "listen.c2s.backwards_compatible_session", what: "turning off the RFC 3921 session feature", okValues: []string{"true"}},
		{pattern: "listen.c2s.allowed_auth_methods", what: "restricting the auth methods of a listener"},
		{pattern: "listen.*.tls.cacertfile", what: "client certificates"},
		{pattern: "listen.*.tls.verify_mode", what: "client certificate verification", okValues: []string{"none"}},
		{pattern: "listen.*.tls.crlfiles", what: "certificate revocation lists"},
		{pattern: "listen.*.tls.password", what: "password-protected key files"},
		{pattern: "listen.http.protocol.compress", what: "HTTP response compression", okValues: []string{"false"}},
		{pattern: "listen.http.handlers.mongoose_websocket_handler", what: "XMPP over WebSocket"},
		{pattern: "listen.http.handlers.mongoose_bosh_handler", what: "BOSH"},
		{pattern: "listen.http.handlers.mongoose_graphql_handler.sse_idle_timeout", what: "GraphQL subscriptions over SSE"},
		{pattern: "auth.internal", what: "the internal (in-memory) auth method", hint: `use auth.methods = ["rdbms"]`},
		{pattern: "auth.password.format", what: "storing passwords in plain text", okValues: []string{"scram"}},
		{pattern: "auth.password.hash", what: "choosing the SCRAM hashes (Gander stores SHA-1 and SHA-256 keys)"},
		{pattern: "outgoing_pools.rdbms.*.connection.tls", what: "TLS connections to the database"},
		{pattern: "modules.mod_register", what: "in-band registration (mod_register)"},
		{pattern: "modules.mod_disco.extra_domains", what: "extra domains in disco#items"},
		{pattern: "modules.mod_disco.server_info", what: "XEP-0157 contact addresses"},
		{pattern: "modules.mod_disco.users_can_see_hidden_services", what: "hiding services", okValues: []string{"true"}},
		{pattern: "modules.mod_roster.versioning", what: "roster versioning (XEP-0237)", okValues: []string{"false"}},
		{pattern: "modules.mod_roster.store_current_id", what: "roster versioning (XEP-0237)", okValues: []string{"false"}},
		{pattern: "modules.mod_offline.access_max_user_messages", what: "offline limits from access rules", hint: "use modules.mod_offline.max_messages"},
		{pattern: "modules.mod_ping.send_pings", what: "server-initiated pings", okValues: []string{"false"}},
		{pattern: "modules.mod_ping.ping_interval", what: "server-initiated pings"},
		{pattern: "modules.mod_ping.timeout_action", what: "server-initiated pings"},
		{pattern: "modules.mod_ping.ping_req_timeout", what: "server-initiated pings"},
		{pattern: "instrumentation.log", what: "logging instrumentation events"},
		{pattern: "s2s", what: "server-to-server connections"},
		{pattern: "host_config", what: "per-host configuration ([[host_config]])"},
	}
}

// ignoredRules lists keys that have no meaning in Gander.
func ignoredRules() []supportRule {
	return []supportRule{
		{pattern: "general.sm_backend", what: "Gander has its own session table (in memory on each node, replicated between cluster nodes)"},
		{pattern: "general.replaced_wait_timeout", what: "it tunes Erlang processes"},
		{pattern: "general.routing_modules", what: "it lists Erlang routing modules"},
		{pattern: "general.s2s_backend", what: "it chooses the Erlang store of server-to-server state"},
		{pattern: "general.component_backend", what: "it chooses the Erlang store of component state"},
		{pattern: "general.max_fsm_queue", what: "it limits Erlang process mailboxes; Gander's queues have their own bounds (docs/architecture.md)"},
		{pattern: "listen.*.hibernate_after", what: "it tunes Erlang process hibernation"},
		{pattern: "listen.c2s.num_acceptors", what: "Go accepts connections with one goroutine per listener"},
		{pattern: "listen.http.transport.num_acceptors", what: "Go accepts connections with one goroutine per listener"},
		{pattern: "listen.c2s.backlog", what: "Go listens with the kernel's maximum backlog (net.core.somaxconn)"},
		{pattern: "listen.*.tls.ciphers", what: "it is an OpenSSL cipher list; Go's TLS chooses among its own secure suites"},
		{pattern: "listen.*.tls.dhfile", what: "Go's TLS uses ECDHE key exchange only"},
		{pattern: "listen.*.tls.disconnect_on_failure", what: "Gander always closes a connection whose handshake fails"},
		{pattern: "listen.*.tls.module", what: "it chooses an Erlang TLS library"},
		{pattern: "auth.rdbms.users_number_estimate", what: "Gander counts users exactly"},
		{pattern: "outgoing_pools.rdbms.*.strategy", what: "it chooses among Erlang pool workers"},
		{pattern: "outgoing_pools.rdbms.*.call_timeout", what: "it bounds calls to Erlang pool workers; query_timeout bounds statements"},
		{pattern: "outgoing_pools.rdbms.*.connection.keepalive_interval", what: "Go's database/sql replaces a broken connection when it is next used"},
		{pattern: "outgoing_pools.rdbms.*.connection.max_start_interval", what: "it tunes Erlang reconnection back-off"},
		{pattern: "internal_databases.mnesia", what: "Gander does not use Mnesia"},
		{pattern: "services.service_domain_db.event_cleaning_interval", what: "it tunes the domain event table of MongooseIM clusters"},
		{pattern: "services.service_domain_db.event_max_age", what: "it tunes the domain event table of MongooseIM clusters"},
		{pattern: "services.service_domain_db.db_pool", what: "Gander uses the pool tagged default"},
		{pattern: "services.service_mongoose_system_metrics", what: "Gander reports no usage statistics"},
		{pattern: "modules.mod_muc_light.cache_affs.strategy", what: "it tunes an Erlang cache"},
		{pattern: "modules.mod_muc_light.cache_affs.number_of_segments", what: "it tunes an Erlang cache"},
		{pattern: "modules.mod_muc_light.cache_affs.module", what: "it tunes an Erlang cache"},
		{pattern: "modules.mod_inbox.delete_domain_limit", what: "Gander removes a domain's inbox in one statement"},
		{pattern: "modules.mod_mam.muc.iqdisc", what: "archive IQs to a room run on the room's own path"},
		{pattern: "modules.mod_mam.muc.cache_users", what: "the owner cache is shared by both parts, with the root's (or pm's) options"},
		{pattern: "modules.mod_mam.muc.cache", what: "the owner cache is shared by both parts, with the root's (or pm's) options"},
		{pattern: "modules.mod_mam.db_jid_format", what: "it chooses an Erlang encoder; Gander stores JIDs as text"},
		{pattern: "modules.mod_mam.db_message_format", what: "it chooses an Erlang encoder; Gander stores messages as XML text"},
		{pattern: "modules.mod_mam.cache.module", what: "it chooses an Erlang cache module; Gander's owner cache is its own"},
		{pattern: "modules.mod_mam.pm.db_jid_format", what: "it chooses an Erlang encoder; Gander stores JIDs as text"},
		{pattern: "modules.mod_mam.pm.db_message_format", what: "it chooses an Erlang encoder; Gander stores messages as XML text"},
		{pattern: "modules.mod_mam.pm.cache.module", what: "it chooses an Erlang cache module; Gander's owner cache is its own"},
		{pattern: "modules.mod_mam.muc.db_jid_format", what: "it chooses an Erlang encoder; Gander stores JIDs as text"},
		{pattern: "modules.mod_mam.muc.db_message_format", what: "it chooses an Erlang encoder; Gander stores messages as XML text"},
		{pattern: "modules.mod_mam.muc.cache.module", what: "it chooses an Erlang cache module; Gander's owner cache is its own"},
		{pattern: "instrumentation.exometer", what: "it configures the Erlang exometer reporter"},
	}
}

// checkSupport reports every key of the document that a rule names: an
// error for keys Gander does not implement, a warning for ignored ones. A
// rule on a table is reported once, at the table.
func (c *checker) checkSupport() {
	type hit struct {
		key  string
		pos  position
		rule supportRule
		bad  bool
	}
	var hits []hit
	seen := map[string]bool{}
	for _, e := range c.errs {
		// Already refused while decoding (a key outside the schema).
		seen[e.(*Error).Key] = true
	}
	for path, pos := range c.ix.pos {
		parts := splitKey(stripIndexes(path))
		for _, list := range []struct {
			rules []supportRule
			bad   bool
		}{{notImplementedRules(), true}, {ignoredRules(), false}} {
			for _, r := range list.rules {
				rp := splitKey(r.pattern)
				if len(rp) > len(parts) || !matchParts(rp, parts[:len(rp)]) {
					continue
				}
				if len(rp) == len(parts) && slicesContain(r.okValues, c.ix.written(path)) {
					continue
				}
				key := prefixPath(path, len(rp))
				if seen[key] {
					continue
				}
				seen[key] = true
				if p, ok := c.ix.pos[key]; ok {
					pos = p
				}
				hits = append(hits, hit{key, pos, r, list.bad})
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].pos != hits[j].pos {
			return hits[i].pos.Line < hits[j].pos.Line || hits[i].pos.Line == hits[j].pos.Line && hits[i].pos.Col < hits[j].pos.Col
		}
		return hits[i].key < hits[j].key
	})
	for _, h := range hits {
		if h.bad {
			if h.rule.hint != "" {
				c.notImplemented(h.key, h.rule.what, h.rule.hint)
			} else {
				c.notImplemented(h.key, h.rule.what)
			}
		} else {
			c.warnf(h.key, "accepted and ignored: %s", h.rule.what)
		}
	}
}

// notImplemented records that key asks for what, which Gander does not do;
// hint, if given, says what to do instead.
func (c *checker) notImplemented(key, what string, hint ...string) {
	msg := "Gander does not implement " + what + " yet"
	if len(hint) > 0 {
		msg += "; " + strings.Join(hint, "; ")
	}
	c.errorf(key, "%s", msg)
	c.errs[len(c.errs)-1].(*Error).notImpl = true
}

func matchParts(pattern, parts []string) bool {
	for i, p := range pattern {
		if p != "*" && p != parts[i] {
			return false
		}
	}
	return true
}

// prefixPath returns the first n parts of an indexed path, with the indexes
// of the tables on the way but not of the last part, so that a rule is
// reported once for a whole array: prefixPath("listen.s2s[0].port", 2) =
// "listen.s2s".
func prefixPath(path string, n int) string {
	parts := splitKey(path)
	return stripTrailingIndex(strings.Join(parts[:n], "."))
}

func slicesContain(vs []string, v string) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// notInSchemaRules lists MongooseIM sections, modules, handlers and methods
// that Gander's schema does not have at all; writing one is an error that
// says Gander does not implement it yet (rather than "unknown key").
func notInSchemaRules() []supportRule {
	rules := []supportRule{
		{pattern: "listen.service", what: "external components (XEP-0114)"},
		{pattern: "outgoing_pools.redis", what: "Redis pools"},
		{pattern: "outgoing_pools.http", what: "HTTP pools"},
		{pattern: "outgoing_pools.ldap", what: "LDAP pools"},
		{pattern: "outgoing_pools.rabbit", what: "RabbitMQ pools"},
		{pattern: "outgoing_pools.cassandra", what: "Cassandra pools"},
		{pattern: "outgoing_pools.elastic", what: "Elasticsearch pools"},
		{pattern: "services.service_admin_extra", what: "service_admin_extra"},
		{pattern: "services.service_cache", what: "service_cache"},
	}
	for _, m := range []string{"anonymous", "dummy", "external", "http", "jwt", "ldap", "pki"} {
		rules = append(rules, supportRule{pattern: "auth." + m, what: "the " + m + " auth method"})
	}
	for _, m := range mongooseIMModules() {
		rules = append(rules, supportRule{pattern: "modules." + m, what: "the module " + m})
	}
	for _, h := range mongooseIMHandlers() {
		rules = append(rules, supportRule{pattern: "listen.http.handlers." + h, what: "the HTTP handler " + h})
	}
	return rules
}

// mongooseIMModules are MongooseIM's modules that Gander does not have
// (docs/configuration.md lists the ones it has).
func mongooseIMModules() []string {
	return []string{"mod_adhoc", "mod_admin_extra", "mod_amp", "mod_auth_token", "mod_aws_sns",
		"mod_bind2", "mod_blocking", "mod_blocklist", "mod_bosh", "mod_cache_users", "mod_caps", "mod_commands",
		"mod_csi", "mod_domain_isolation", "mod_event_pusher", "mod_extdisco", "mod_external_filter",
		"mod_fast_auth_token", "mod_filter", "mod_global_distrib", "mod_http_notification", "mod_http_upload",
		"mod_invites", "mod_jingle_sip", "mod_keystore", "mod_muc_commands", "mod_muc_light_commands",
		"mod_muc_log", "mod_offline_chatmarkers", "mod_offline_stub", "mod_privacy", "mod_private", "mod_pubsub",
		"mod_push_service_mongoosepush", "mod_revproxy", "mod_sasl2", "mod_shared_roster_ldap", "mod_sic",
		"mod_smart_markers", "mod_stanzaid", "mod_stream_management", "mod_time", "mod_vcard", "mod_websockets"}
}

// mongooseIMHandlers are MongooseIM's HTTP handler types that Gander does
// not have.
func mongooseIMHandlers() []string {
	return []string{"mongoose_admin_api", "mongoose_client_api", "mongoose_api",
		"mongoose_api_admin", "mod_bosh", "mod_websockets", "lasse_handler", "cowboy_static",
		"cowboy_swagger_redirect_handler", "cowboy_swagger_json_handler", "mongoose_client_api_messages",
		"mongoose_client_api_contacts", "mongoose_client_api_rooms", "mongoose_client_api_rooms_config",
		"mongoose_client_api_rooms_users", "mongoose_client_api_rooms_messages", "mongoose_domain_handler"}
}

// ruleFor returns the rule of rules that covers the key (indexes left out),
// and how many parts of the key the rule names.
func ruleFor(rules []supportRule, plain string) (supportRule, int, bool) {
	parts := splitKey(plain)
	for _, r := range rules {
		rp := splitKey(r.pattern)
		if len(rp) <= len(parts) && matchParts(rp, parts[:len(rp)]) {
			return r, len(rp), true
		}
	}
	return supportRule{}, 0, false
}
