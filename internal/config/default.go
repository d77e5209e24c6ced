package config

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

# Server features. An empty table enables a module with its defaults;
# removing a table disables the module. backend = "rdbms" stores data in the
# database; backend = "mnesia" keeps it in memory only (lost on restart).
[modules.mod_disco]
[modules.mod_presence]
[modules.mod_roster]
  backend = "rdbms"
[modules.mod_offline]
  backend = "rdbms"
[modules.mod_ping]
[modules.mod_version]
[modules.mod_carboncopy]
`
