package config

import "strings"

// DefaultTOML is the built-in default configuration: what Gander runs with
// when no configuration file is given, and what `gander
// print-default-config` prints as a starting point. Default() parses it.
const DefaultTOML = `# Gander configuration file.
#
# The layout is MongooseIM's TOML format: a MongooseIM configuration that only
# uses the sections and modules Gander implements loads unchanged. Every key is
# described in docs/configuration.md. Unknown keys are errors, reported with
# file, line and the full key name.
#
# This is the built-in default: running gander without a configuration file
# behaves exactly as if this file had been given.

[general]
  # XMPP domains served by this server. Each one is also its own host type.
  hosts = ["localhost"]
  # The domain used when a request does not name one; must be one of hosts.
  default_server_domain = "localhost"
  # One of "none", "critical", "error", "warning", "notice", "info", "debug".
  # "info" logs what the server does at start and stop; "warning" only
  # problems.
  loglevel = "info"
  # Gander: where the embedded database and the generated TLS certificate
  # live (a relative path is relative to this file's directory). Empty
  # means $XDG_DATA_HOME/gander, or ~/.local/share/gander. The --data-dir
  # command-line flag overrides it.
  data_dir = ""
  # Gander: the name of this node (shown e.g. as the owner of broadcast jobs);
  # it must differ between the nodes sharing one database. Default:
  # "gander@<hostname>".
  # node_name = "gander@xmpp1"

# XMPP client connections.
[[listen.c2s]]
  # Loopback only; use "0.0.0.0" (or "::") to accept clients from the network.
  ip_address = "127.0.0.1"
  port = 5222
  # Largest stanza accepted, in bytes ("infinity" = no limit).
  max_stanza_size = 65536
  # Clients may upgrade the connection with STARTTLS. No certfile/keyfile are
  # given, so Gander generates a self-signed certificate in the data
  # directory on first start. Set tls.certfile and tls.keyfile for a real
  # certificate, and tls.mode = "starttls_required" to refuse plain streams.
  tls.mode = "starttls"

# HTTP API and metrics, on the loopback interface only.
[[listen.http]]
  ip_address = "127.0.0.1"
  port = 5551
  # The administration GraphQL API. Without username/password every request
  # is treated as the global administrator, which is why this listener is
  # bound to 127.0.0.1. Add username = "..." and password = "..." before
  # exposing it.
  [[listen.http.handlers.mongoose_graphql_handler]]
    host = "_"
    path = "/api/graphql"
    schema_endpoint = "admin"
  # Prometheus metrics in the text exposition format.
  [[listen.http.handlers.mongoose_prometheus_handler]]
    host = "_"
    path = "/metrics"

# Accounts are stored in the database. With no [outgoing_pools] section the
# database is the embedded SQLite file in the data directory. To use
# PostgreSQL instead, add:
#
#   [outgoing_pools.rdbms.default]
#     scope = "global"
#     workers = 10
#     [outgoing_pools.rdbms.default.connection]
#       driver = "pgsql"          # or "sqlite" with database = "/path/file.db"
#       host = "localhost"
#       database = "gander"
#       username = "gander"
#       password = "secret"
[auth]
  methods = ["rdbms"]
  # Offered SASL mechanisms, in order of preference.
  sasl_mechanisms = ["scram_sha256", "scram_sha1", "plain"]
  [auth.rdbms]

# Prometheus metrics (served by the handler above).
[instrumentation.prometheus]

# Server features: every module Gander implements that needs no setup of
# its own. An empty table enables a module with its defaults; removing a
# table disables the module. backend = "rdbms" stores data in the database;
# backend = "mnesia" keeps it in memory only (lost on restart).
# Service discovery (XEP-0030), presence, rosters, offline messages
# (XEP-0160), ping (XEP-0199) and software version (XEP-0092).
[modules.mod_disco]
[modules.mod_presence]
[modules.mod_roster]
  backend = "rdbms"
[modules.mod_offline]
  backend = "rdbms"
[modules.mod_ping]
[modules.mod_version]
# Message Carbons (XEP-0280): a user's clients see each other's chats.
[modules.mod_carboncopy]
# Last activity (XEP-0012): when a contact was last online.
[modules.mod_last]
  backend = "rdbms"
# MUC Light group chats, at muclight.<domain> (docs/modules/mod_muc_light.md).
[modules.mod_muc_light]
  backend = "rdbms"
# Classic multi-user chat (XEP-0045), at conference.<domain>; rooms are kept
# in memory (docs/modules/mod_muc.md).
[modules.mod_muc]
# The inbox: each user's conversation list with unread counts, for chats and
# both kinds of group chat (docs/modules/mod_inbox.md).
[modules.mod_inbox]
  groupchat = ["muclight", "muc"]
# Admin broadcasts to every user of a domain, driven through the GraphQL
# broadcast category and gander ctl broadcast (docs/modules/mod_broadcast.md).
[modules.mod_broadcast]
`

// WithoutModules returns the TOML document doc without the [modules.NAME]
// tables (and their sub-tables) of the given modules, so that a program or
// a test can start from DefaultTOML and write its own options for one of
// them: config.WithoutModules(config.DefaultTOML, "mod_muc") +
// "[modules.mod_muc]\n  history_size = 5\n". It works on lines: a table
// ends at the next header.
func WithoutModules(doc string, names ...string) string {
	var b strings.Builder
	skip := false
	for _, line := range strings.SplitAfter(doc, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "[") {
			skip = false
			for _, n := range names {
				h := "[modules." + n
				if strings.HasPrefix(t, h+"]") || strings.HasPrefix(t, h+".") {
					skip = true
				}
			}
		}
		if !skip {
			b.WriteString(line)
		}
	}
	return b.String()
}
