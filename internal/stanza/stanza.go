// Package stanza gives names to XMPP namespaces and builds stanza and
// stream errors from one mapping table (RFC 6120 §8.3 and §4.9, with the
// legacy numeric codes of XEP-0086).
package stanza

import (
	"strconv"

	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces used by the core.
const (
	NSClient     = "jabber:client"
	NSStream     = "http://etherx.jabber.org/streams"
	NSStanzas    = "urn:ietf:params:xml:ns:xmpp-stanzas"
	NSStreams    = "urn:ietf:params:xml:ns:xmpp-streams"
	NSTLS        = "urn:ietf:params:xml:ns:xmpp-tls"
	NSSASL       = "urn:ietf:params:xml:ns:xmpp-sasl"
	NSBind       = "urn:ietf:params:xml:ns:xmpp-bind"
	NSSession    = "urn:ietf:params:xml:ns:xmpp-session"
	NSRoster     = "jabber:iq:roster"
	NSDelay      = "urn:xmpp:delay"
	NSDiscoInfo  = "http://jabber.org/protocol/disco#info"
	NSDiscoItems = "http://jabber.org/protocol/disco#items"
)

// Condition is a defined stanza error condition (RFC 6120 §8.3.3).
type Condition string

// The stanza error conditions the server produces.
const (
	BadRequest            Condition = "bad-request"
	Conflict              Condition = "conflict"
	FeatureNotImplemented Condition = "feature-not-implemented"
	Forbidden             Condition = "forbidden"
	Gone                  Condition = "gone"
	InternalServerError   Condition = "internal-server-error"
	ItemNotFound          Condition = "item-not-found"
	JIDMalformed          Condition = "jid-malformed"
	NotAcceptable         Condition = "not-acceptable"
	NotAllowed            Condition = "not-allowed"
	NotAuthorized         Condition = "not-authorized"
	PolicyViolation       Condition = "policy-violation"
	RecipientUnavailable  Condition = "recipient-unavailable"
	RemoteServerNotFound  Condition = "remote-server-not-found"
	ResourceConstraint    Condition = "resource-constraint"
	ServiceUnavailable    Condition = "service-unavailable"
	SubscriptionRequired  Condition = "subscription-required"
	UndefinedCondition    Condition = "undefined-condition"
	UnexpectedRequest     Condition = "unexpected-request"
)

// conditions is the one mapping table: condition -> (error type, legacy code).
var conditions = map[Condition]struct{ typ, code string }{
	BadRequest:            {"modify", "400"},
	Conflict:              {"cancel", "409"},
	FeatureNotImplemented: {"cancel", "501"},
	Forbidden:             {"auth", "403"},
	Gone:                  {"cancel", "302"},
	InternalServerError:   {"wait", "500"},
	ItemNotFound:          {"cancel", "404"},
	JIDMalformed:          {"modify", "400"},
	NotAcceptable:         {"modify", "406"},
	NotAllowed:            {"cancel", "405"},
	NotAuthorized:         {"auth", "401"},
	PolicyViolation:       {"modify", "400"},
	RecipientUnavailable:  {"wait", "404"},
	RemoteServerNotFound:  {"cancel", "404"},
	ResourceConstraint:    {"wait", "500"},
	ServiceUnavailable:    {"cancel", "503"},
	SubscriptionRequired:  {"auth", "407"},
	UndefinedCondition:    {"wait", "500"},
	UnexpectedRequest:     {"wait", "400"},
}

// Error is a stanza error with an optional human-readable text.
type Error struct {
	Condition Condition
	Text      string
	Lang      string
}

// Error implements error.
func (e Error) Error() string {
	if e.Text != "" {
		return string(e.Condition) + ": " + e.Text
	}
	return string(e.Condition)
}

// Element builds the <error/> element with type, legacy code, condition and
// text.
func (e Error) Element() *xmlstream.Element {
	m, ok := conditions[e.Condition]
	if !ok {
		m = conditions[UndefinedCondition]
	}
	el := xmlstream.New(NSClient, "error", "code", m.code, "type", m.typ)
	el.Append(xmlstream.New(NSStanzas, string(e.Condition)))
	if e.Text != "" {
		t := xmlstream.New(NSStanzas, "text")
		lang := e.Lang
		if lang == "" {
			lang = "en"
		}
		t.Attrs = append(t.Attrs, xmlstream.Attr{Space: xmlstream.NSXML, Local: "lang", Value: lang})
		el.Append(t.AppendText(e.Text))
	}
	return el
}

// Code returns the legacy numeric code of a condition.
func Code(c Condition) int {
	n, _ := strconv.Atoi(conditions[c].code)
	return n
}

// ErrorReply builds the generic error reply to st (spec/server.md §1.3):
// from and to swapped, type "error", the <error/> first and then the
// original children. st is not modified.
func ErrorReply(st *xmlstream.Element, e Error) *xmlstream.Element {
	r := &xmlstream.Element{Space: st.Space, Local: st.Local}
	for _, a := range st.Attrs {
		if a.Space == "" && (a.Local == "to" || a.Local == "from" || a.Local == "type") {
			continue
		}
		r.Attrs = append(r.Attrs, a)
	}
	r.SetAttr("from", st.Attr("to"))
	r.SetAttr("to", st.Attr("from"))
	r.SetAttr("type", "error")
	r.Append(e.Element())
	for _, c := range st.Children {
		if ce, ok := c.(*xmlstream.Element); ok {
			if ce.Local == "error" && ce.Space == st.Space {
				continue
			}
			r.Append(ce.Clone())
		}
	}
	return r
}

// IQErrorReply builds a handler-style IQ error: the original payload first,
// then <error/> (spec/server.md §1.3).
func IQErrorReply(iq *xmlstream.Element, e Error) *xmlstream.Element {
	r := IQResult(iq)
	r.SetAttr("type", "error")
	for _, c := range iq.Elements() {
		r.Append(c.Clone())
	}
	r.Append(e.Element())
	return r
}

// IQResult builds an empty result for iq with from and to swapped.
func IQResult(iq *xmlstream.Element) *xmlstream.Element {
	r := xmlstream.New(NSClient, "iq", "type", "result", "id", iq.Attr("id"))
	r.SetAttr("from", iq.Attr("to"))
	r.SetAttr("to", iq.Attr("from"))
	return r
}

// StreamError builds <stream:error> with a condition of
// urn:ietf:params:xml:ns:xmpp-streams and an optional text.
func StreamError(condition, text string) *xmlstream.Element {
	el := xmlstream.New(NSStream, "error")
	el.Append(xmlstream.New(NSStreams, condition))
	if text != "" {
		t := xmlstream.New(NSStreams, "text")
		t.Attrs = append(t.Attrs, xmlstream.Attr{Space: xmlstream.NSXML, Local: "lang", Value: "en"})
		el.Append(t.AppendText(text))
	}
	return el
}

// Payload returns the single child element of an IQ get/set, or nil when
// there is not exactly one.
func Payload(iq *xmlstream.Element) *xmlstream.Element {
	els := iq.Elements()
	if len(els) != 1 {
		return nil
	}
	return els[0]
}
