-- Prosody 0.12 configuration for bench/compare.sh (Debian bookworm package).
-- @DIR@ is replaced by the run's temporary directory; see bench/README.md.
-- Feature set = Gander's default: c2s with STARTTLS, SASL SCRAM/PLAIN,
-- roster, presence, offline storage, disco, ping, version, plus in-band
-- registration (XEP-0077) for provisioning. No MAM, no carbons, no stream
-- management, no push, no mod_limits, no registration throttling.
run_as_root = true
pidfile = "@DIR@/prosody.pid"
data_path = "@DIR@/prosody-data"
log = { warn = "@DIR@/prosody.log" }
certificates = "@DIR@/cert"
network_backend = "epoll"
-- server_epoll keeps Nagle's algorithm on by default (nagle = true);
-- Gander and ejabberd set TCP_NODELAY on c2s sockets, so Prosody does too.
network_settings = { nagle = false }

admins = { }
modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "ping"; "version"; "register"; "posix";
}
-- Auto-loaded modules we do not want: no s2s listener, no admin socket.
modules_disabled = { "s2s"; "admin_socket" }

c2s_ports = { 15522 }
c2s_interfaces = { "127.0.0.1" }
c2s_require_encryption = false
c2s_stanza_size_limit = 65536

allow_registration = true
-- No min_seconds_between_registrations and no registration_throttle_max:
-- mod_register_limits then throttles nothing.
registration_allowlist = { "127.0.0.0/8" }

authentication = "internal_hashed"
storage = "internal"
limits = { }

VirtualHost "localhost"
	ssl = {
		certificate = "@DIR@/cert/server.crt";
		key = "@DIR@/cert/server.key";
	}
