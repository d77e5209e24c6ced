package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// coercionError is a scalar input that failed its rule; Reason is the
// reference's reason text (spec/server.md §2.8).
type coercionError struct{ Reason string }

func (e *coercionError) Error() string { return e.Reason }

func reason(r string) error { return &coercionError{Reason: r} }

func asString(v any, bad string) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", reason(bad)
	}
	return s, nil
}

// UnmarshalDomainName checks and nameps a DomainName input.
func UnmarshalDomainName(v any) (string, error) {
	s, err := asString(v, "failed_to_parse_domain_name")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", reason("empty_domain_name")
	}
	j, err := jid.New("", s, "")
	if err != nil {
		return "", reason("failed_to_parse_domain_name")
	}
	return j.Domain(), nil
}

// MarshalDomainName writes a DomainName.
func MarshalDomainName(s string) graphql.Marshaler { return graphql.MarshalString(s) }

func parseUserJID(v any) (jid.JID, error) {
	s, err := asString(v, "failed_to_parse_jid")
	if err != nil {
		return jid.JID{}, err
	}
	j, err := jid.Parse(s)
	if err != nil {
		return jid.JID{}, reason("failed_to_parse_jid")
	}
	if j.Local() == "" {
		return jid.JID{}, reason("jid_without_local_part")
	}
	return j, nil
}

// UnmarshalJID checks a JID input: it must have a local part.
func UnmarshalJID(v any) (jid.JID, error) { return parseUserJID(v) }

// MarshalJID writes a JID in full.
func MarshalJID(j jid.JID) graphql.Marshaler { return graphql.MarshalString(j.String()) }

// UnmarshalBareJID checks a BareJID input: a JID without a resource.
func UnmarshalBareJID(v any) (jid.JID, error) {
	j, err := parseUserJID(v)
	if err == nil && !j.IsBare() {
		return jid.JID{}, reason("jid_with_resource")
	}
	return j, err
}

// MarshalBareJID writes a bare JID.
func MarshalBareJID(j jid.JID) graphql.Marshaler { return graphql.MarshalString(j.Bare().String()) }

// UnmarshalFullJID checks a FullJID input: a JID with a resource.
func UnmarshalFullJID(v any) (jid.JID, error) {
	j, err := parseUserJID(v)
	if err == nil && j.IsBare() {
		return jid.JID{}, reason("jid_without_resource")
	}
	return j, err
}

// MarshalFullJID writes a full JID.
func MarshalFullJID(j jid.JID) graphql.Marshaler { return graphql.MarshalString(j.String()) }

// UnmarshalUserName checks a UserName input: non-empty and a valid JID
// local part (nodeprep).
func UnmarshalUserName(v any) (string, error) {
	s, err := asString(v, "failed_to_parse_user_name")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", reason("empty_user_name")
	}
	j, err := jid.New(s, "localhost", "")
	if err != nil {
		return "", reason("failed_to_parse_user_name")
	}
	return j.Local(), nil
}

// MarshalUserName writes a UserName.
func MarshalUserName(s string) graphql.Marshaler { return graphql.MarshalString(s) }

// UnmarshalNonEmptyString checks a NonEmptyString input.
func UnmarshalNonEmptyString(v any) (string, error) {
	s, err := asString(v, "Given string is empty")
	if err == nil && s == "" {
		return "", reason("Given string is empty")
	}
	return s, err
}

// MarshalNonEmptyString writes a NonEmptyString.
func MarshalNonEmptyString(s string) graphql.Marshaler { return graphql.MarshalString(s) }

func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case json.Number:
		i, err := strconv.Atoi(string(n))
		return i, err == nil
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}

// UnmarshalPosInt checks a PosInt input: an integer > 0.
func UnmarshalPosInt(v any) (int, error) {
	n, ok := asInt(v)
	if !ok || n <= 0 {
		return 0, reason("Value is not a positive integer")
	}
	return n, nil
}

// MarshalPosInt writes a PosInt.
func MarshalPosInt(n int) graphql.Marshaler { return graphql.MarshalInt(n) }

// UnmarshalNonNegInt checks a NonNegInt input: an integer >= 0.
func UnmarshalNonNegInt(v any) (int, error) {
	n, ok := asInt(v)
	if !ok || n < 0 {
		return 0, reason("Value is not a non-negative integer")
	}
	return n, nil
}

// MarshalNonNegInt writes a NonNegInt.
func MarshalNonNegInt(n int) graphql.Marshaler { return graphql.MarshalInt(n) }

// UnmarshalDateTime parses an RFC 3339 DateTime, kept to the microsecond.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, err := asString(v, "failed_to_parse_datetime")
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, reason("failed_to_parse_datetime")
	}
	return t.Truncate(time.Microsecond).UTC(), nil
}

// MarshalDateTime writes microsecond values as YYYY-MM-DDTHH:MM:SS.ffffffZ
// and whole seconds as YYYY-MM-DDTHH:MM:SSZ (spec/server.md §2.8).
func MarshalDateTime(t time.Time) graphql.Marshaler {
	t = t.UTC()
	layout := "2006-01-02T15:04:05.000000Z"
	if t.Nanosecond() == 0 {
		layout = "2006-01-02T15:04:05Z"
	}
	return graphql.MarshalString(t.Format(layout))
}

// UnmarshalXmlElement parses an XmlElement input: one element in the
// jabber:client namespace by default, with the stream's restrictions.
func UnmarshalXmlElement(v any) (*xmlstream.Element, error) {
	s, err := asString(v, "failed_to_parse_xml")
	if err != nil {
		return nil, err
	}
	return parseElement(s)
}

func parseElement(s string) (*xmlstream.Element, error) {
	d := xmlstream.NewDecoder(strings.NewReader(
		`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+s+`</stream:stream>`), 1<<20)
	if _, err := d.Header(); err != nil {
		return nil, reason("failed_to_parse_xml")
	}
	el, err := d.Next()
	if err != nil {
		return nil, reason("failed_to_parse_xml")
	}
	// Exactly one element: the next thing must be the end of the stream.
	if _, err := d.Next(); !errors.Is(err, xmlstream.ErrStreamClosed) {
		return nil, reason("failed_to_parse_xml")
	}
	return el, nil
}

// MarshalXmlElement writes an element as XML text.
func MarshalXmlElement(el *xmlstream.Element) graphql.Marshaler {
	return graphql.WriterFunc(func(w io.Writer) {
		graphql.MarshalString(string(el.Bytes("jabber:client"))).MarshalGQL(w)
	})
}

// parseScalar coerces an input value of the named custom scalar and
// returns the Go value the resolvers get; ok is false for scalars without
// rules here (the built-in ones).
func parseScalar(name string, v any) (val any, ok bool, err error) {
	switch name {
	case "DomainName":
		val, err = UnmarshalDomainName(v)
	case "JID":
		val, err = UnmarshalJID(v)
	case "BareJID":
		val, err = UnmarshalBareJID(v)
	case "FullJID":
		val, err = UnmarshalFullJID(v)
	case "UserName":
		val, err = UnmarshalUserName(v)
	case "NonEmptyString":
		val, err = UnmarshalNonEmptyString(v)
	case "PosInt":
		val, err = UnmarshalPosInt(v)
	case "NonNegInt":
		val, err = UnmarshalNonNegInt(v)
	case "DateTime":
		val, err = UnmarshalDateTime(v)
	case "XmlElement":
		val, err = UnmarshalXmlElement(v)
	case "RoomName":
		val, err = UnmarshalRoomName(v)
	default:
		return v, false, nil
	}
	return val, true, err
}

// renderValue writes an input value in the reference's notation for the
// input_coercion message: strings as <<"text">>.
func renderValue(v any) string {
	switch x := v.(type) {
	case string:
		return `<<"` + x + `">>`
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}
