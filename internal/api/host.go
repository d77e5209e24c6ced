package api

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strings"

	"github.com/vektah/gqlparser/v2/gqlerror"
)

// hostAllowed reports whether a request may be served for its Host
// header (docs/security.md, "DNS rebinding"). With allowed_hosts set,
// the Host must be one of them. An admin endpoint without credentials,
// where every request is the administrator, otherwise answers loopback
// names only: a web page whose name an attacker re-points at 127.0.0.1
// still sends its own name as Host, and is refused.
func (h *Handler) hostAllowed(r *http.Request) bool {
	host := r.Host
	if hn, _, err := net.SplitHostPort(host); err == nil {
		host = hn
	}
	host = strings.ToLower(strings.TrimSuffix(strings.Trim(host, "[]"), "."))
	if len(h.opts.AllowedHosts) > 0 {
		return slices.ContainsFunc(h.opts.AllowedHosts, func(a string) bool { return strings.EqualFold(a, host) })
	}
	if h.opts.Endpoint != EndpointAdmin || h.opts.Username != "" {
		return true
	}
	return loopbackName(host)
}

// loopbackName reports a name that always means this machine: localhost
// and its subdomains (RFC 6761 §6.3) and loopback addresses.
func loopbackName(host string) bool {
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

func writeHostRefused(w http.ResponseWriter, r *http.Request) {
	writeErrors(w, http.StatusForbidden, &gqlerror.Error{
		Message:    "Host " + r.Host + " is not allowed on this endpoint: an admin endpoint without credentials answers loopback names only (see allowed_hosts)",
		Extensions: map[string]any{"code": "host_not_allowed"}})
}
