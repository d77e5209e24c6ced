// Package jid implements XMPP addresses as defined in RFC 7622: parsing,
// PRECIS and IDNA normalisation, and comparison.
package jid

import (
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/net/idna"
	"golang.org/x/text/secure/precis"
)

// maxPart is the longest a normalised part may be, in bytes (RFC 7622 §3.1).
const maxPart = 1023

// maxRawPart bounds a part before normalisation so hostile input cannot make
// us run PRECIS or IDNA over megabytes. Width and case mapping shrink a rune
// to at most a third of its bytes, so anything longer than this cannot
// normalise to maxPart bytes or fewer.
const maxRawPart = 4 * maxPart

// JID is a normalised XMPP address. JIDs are values: compare them with == or
// Equal, and use them as map keys. The zero value is the empty JID.
type JID struct {
	local, domain, resource string
}

// Parse splits s into its parts as RFC 7622 §3.1 says (the first '/' starts
// the resourcepart, then the first '@' before it ends the localpart) and
// normalises each part. Errors wrap the sentinel errors of this package.
func Parse(s string) (JID, error) {
	if s == "" {
		return JID{}, ErrEmpty
	}
	var local, domain, resource string
	hasLocal, hasResource := false, false
	rest := s
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		rest, resource, hasResource = rest[:i], rest[i+1:], true
	}
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		local, domain, hasLocal = rest[:i], rest[i+1:], true
	} else {
		domain = rest
	}
	if (hasLocal && local == "") || domain == "" || (hasResource && resource == "") {
		return JID{}, fmt.Errorf("%w: %q", ErrEmptyPart, s)
	}
	return New(local, domain, resource)
}

// New builds a JID from its parts, normalising each. local and resource may
// be empty; domain may not.
func New(local, domain, resource string) (JID, error) {
	var j JID
	var err error
	if j.domain, err = normDomain(domain); err != nil {
		return JID{}, err
	}
	if local != "" {
		if j.local, err = normLocal(local); err != nil {
			return JID{}, err
		}
	}
	if resource != "" {
		if j.resource, err = normResource(resource); err != nil {
			return JID{}, err
		}
	}
	return j, nil
}

// MustParse is like Parse but panics on error. It is meant for tests and
// constants, never for network input.
func MustParse(s string) JID {
	j, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return j
}

// Local returns the normalised localpart, or "" if there is none.
func (j JID) Local() string { return j.local }

// Domain returns the normalised domainpart.
func (j JID) Domain() string { return j.domain }

// Resource returns the normalised resourcepart, or "" if there is none.
func (j JID) Resource() string { return j.resource }

// Bare returns j without its resourcepart.
func (j JID) Bare() JID { return JID{local: j.local, domain: j.domain} }

// Domainpart returns the JID made of j's domainpart only.
func (j JID) Domainpart() JID { return JID{domain: j.domain} }

// IsBare reports whether j has no resourcepart.
func (j JID) IsBare() bool { return j.resource == "" }

// IsZero reports whether j is the empty JID.
func (j JID) IsZero() bool { return j == JID{} }

// WithResource returns j with its resourcepart replaced by r, normalised. An
// empty r gives the bare JID.
func (j JID) WithResource(r string) (JID, error) {
	out := j.Bare()
	if r == "" {
		return out, nil
	}
	var err error
	if out.resource, err = normResource(r); err != nil {
		return JID{}, err
	}
	return out, nil
}

// String returns j as local@domain/resource, leaving out the absent parts.
// It returns "" for the empty JID.
func (j JID) String() string {
	var b strings.Builder
	b.Grow(len(j.local) + len(j.domain) + len(j.resource) + 2)
	if j.local != "" {
		b.WriteString(j.local)
		b.WriteByte('@')
	}
	b.WriteString(j.domain)
	if j.resource != "" {
		b.WriteByte('/')
		b.WriteString(j.resource)
	}
	return b.String()
}

// Equal reports whether j and o are the same address. Both are normalised,
// so this is plain equality of the parts.
func (j JID) Equal(o JID) bool { return j == o }

// normLocal applies RFC 7622 §3.3: the PRECIS UsernameCaseMapped profile,
// then the characters §3.3.1 excludes on top of it.
func normLocal(s string) (string, error) {
	if len(s) > maxRawPart {
		return "", fmt.Errorf("%w: localpart", ErrTooLong)
	}
	out, err := precis.UsernameCaseMapped.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidLocal, err)
	}
	if len(out) > maxPart {
		return "", fmt.Errorf("%w: localpart", ErrTooLong)
	}
	if i := strings.IndexAny(out, "\"&'/:<>@ "); i >= 0 {
		return "", fmt.Errorf("%w: forbidden character %q", ErrInvalidLocal, out[i])
	}
	return out, nil
}

// normResource applies RFC 7622 §3.4: the PRECIS OpaqueString profile.
func normResource(s string) (string, error) {
	if len(s) > maxRawPart {
		return "", fmt.Errorf("%w: resourcepart", ErrTooLong)
	}
	out, err := precis.OpaqueString.String(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidResource, err)
	}
	if len(out) > maxPart {
		return "", fmt.Errorf("%w: resourcepart", ErrTooLong)
	}
	return out, nil
}

// mapProfile maps (width, case, NFC) and validates a domain name as UTS #46
// lookup does, without length checks so a trailing dot can still be removed.
var mapProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
)

// strictProfile additionally enforces DNS label and name lengths and rejects
// empty labels.
var strictProfile = idna.New(
	idna.MapForLookup(),
	idna.Transitional(false),
	idna.BidiRule(),
	idna.ValidateLabels(true),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
)

// normDomain applies RFC 7622 §3.2: IP literals are kept (in canonical form),
// anything else must be an IDNA2008 domain name, which we keep as U-labels,
// lower-cased and without a trailing dot.
func normDomain(s string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%w: domainpart", ErrEmptyPart)
	}
	if len(s) > maxRawPart {
		return "", fmt.Errorf("%w: domainpart", ErrTooLong)
	}
	if strings.HasPrefix(s, "[") {
		// RFC 7622 §3.2.1 allows IP-literal of RFC 3986 §3.2.2; we accept the
		// IPv6 form only (no zones, no IPvFuture).
		if !strings.HasSuffix(s, "]") {
			return "", fmt.Errorf("%w: unterminated IP literal", ErrInvalidDomain)
		}
		a, err := netip.ParseAddr(s[1 : len(s)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", fmt.Errorf("%w: bad IPv6 literal %q", ErrInvalidDomain, s)
		}
		return "[" + a.String() + "]", nil
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a.String(), nil
	}
	u, err := mapProfile.ToUnicode(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidDomain, err)
	}
	// RFC 7622 §3.2: a final label separator MUST be stripped. Mapping has
	// already turned U+3002 and friends into '.'.
	u = strings.TrimSuffix(u, ".")
	if u == "" || strings.HasSuffix(u, ".") {
		return "", fmt.Errorf("%w: empty label in %q", ErrInvalidDomain, s)
	}
	a, err := strictProfile.ToASCII(u)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidDomain, err)
	}
	// RFC 7622 §3.2.2: A-labels are converted to U-labels.
	u, err = strictProfile.ToUnicode(a)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidDomain, err)
	}
	if len(u) > maxPart {
		return "", fmt.Errorf("%w: domainpart", ErrTooLong)
	}
	return u, nil
}
