package stanza_test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestConditionTable checks the one mapping table against the error types
// of RFC 6120 §8.3.3 and the legacy codes of XEP-0086 that clients see in
// every error the server sends.
func TestConditionTable(t *testing.T) {
	tests := []struct {
		cond      stanza.Condition
		typ, code string
	}{
		{stanza.BadRequest, "modify", "400"},
		{stanza.Conflict, "cancel", "409"},
		{stanza.FeatureNotImplemented, "cancel", "501"},
		{stanza.Forbidden, "auth", "403"},
		{stanza.Gone, "cancel", "302"},
		{stanza.InternalServerError, "wait", "500"},
		{stanza.ItemNotFound, "cancel", "404"},
		{stanza.JIDMalformed, "modify", "400"},
		{stanza.NotAcceptable, "modify", "406"},
		{stanza.NotAllowed, "cancel", "405"},
		{stanza.NotAuthorized, "auth", "401"},
		{stanza.PolicyViolation, "modify", "400"},
		{stanza.RecipientUnavailable, "wait", "404"},
		{stanza.RemoteServerNotFound, "cancel", "404"},
		{stanza.ResourceConstraint, "wait", "500"},
		{stanza.ServiceUnavailable, "cancel", "503"},
		{stanza.SubscriptionRequired, "auth", "407"},
		{stanza.UndefinedCondition, "wait", "500"},
		{stanza.UnexpectedRequest, "wait", "400"},
	}
	for _, tt := range tests {
		t.Run(string(tt.cond), func(t *testing.T) {
			el := stanza.Error{Condition: tt.cond}.Element()
			require.Equal(t, stanza.NSClient, el.Space)
			require.Equal(t, "error", el.Local)
			require.Equal(t, tt.typ, el.Attr("type"))
			require.Equal(t, tt.code, el.Attr("code"))
			kids := el.Elements()
			require.Len(t, kids, 1, "the condition alone, no text")
			require.Equal(t, stanza.NSStanzas, kids[0].Space)
			require.Equal(t, string(tt.cond), kids[0].Local)
			require.Empty(t, kids[0].Elements())
			require.Equal(t, tt.code, strconv.Itoa(stanza.Code(tt.cond)))
		})
	}
}

// TestUnknownCondition: a condition outside the table still makes a
// well-formed error, typed and coded as undefined-condition.
func TestUnknownCondition(t *testing.T) {
	el := stanza.Error{Condition: "made-up"}.Element()
	require.Equal(t, "wait", el.Attr("type"))
	require.Equal(t, "500", el.Attr("code"))
	require.NotNil(t, el.Child(stanza.NSStanzas, "made-up"))
	require.Zero(t, stanza.Code("made-up"))
}

func TestErrorText(t *testing.T) {
	e := stanza.Error{Condition: stanza.NotAllowed, Text: "Room is locked"}
	require.Equal(t, "not-allowed: Room is locked", e.Error())
	require.Equal(t, "not-allowed", stanza.Error{Condition: stanza.NotAllowed}.Error())

	text := e.Element().Child(stanza.NSStanzas, "text")
	require.NotNil(t, text)
	require.Equal(t, "Room is locked", text.Text())
	require.Equal(t, "en", text.Lang(), "English unless the error says otherwise")
	require.Equal(t, `<error xmlns="jabber:client" code="405" type="cancel"><not-allowed xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/>`+
		`<text xmlns="urn:ietf:params:xml:ns:xmpp-stanzas" xml:lang="en">Room is locked</text></error>`, e.Element().String())

	e.Lang = "de"
	require.Equal(t, "de", e.Element().Child(stanza.NSStanzas, "text").Lang())
}

// TestErrorReply: the generic error reply of RFC 6120 §8.3.1 goes back to
// the sender with the addresses swapped, keeps the id, carries the error
// first and then the original payload, and leaves the original untouched.
func TestErrorReply(t *testing.T) {
	msg := xmlstream.New(stanza.NSClient, "message", "from", "juliet@example.com/balcony", "to", "romeo@example.net",
		"id", "m1", "type", "chat")
	msg.Attrs = append(msg.Attrs, xmlstream.Attr{Space: xmlstream.NSXML, Local: "lang", Value: "fr"})
	msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("wherefore"))
	msg.Append(xmlstream.New("urn:xmpp:receipts", "request"))
	before := msg.String()

	r := stanza.ErrorReply(msg, stanza.Error{Condition: stanza.ServiceUnavailable})
	require.Equal(t, before, msg.String(), "the original is not modified")
	require.Equal(t, "message", r.Local)
	require.Equal(t, stanza.NSClient, r.Space)
	require.Equal(t, "romeo@example.net", r.Attr("from"))
	require.Equal(t, "juliet@example.com/balcony", r.Attr("to"))
	require.Equal(t, "error", r.Attr("type"))
	require.Equal(t, "m1", r.Attr("id"))
	require.Equal(t, "fr", r.Lang(), "other attributes are kept")
	kids := r.Elements()
	require.Len(t, kids, 3)
	require.Equal(t, "error", kids[0].Local)
	require.Equal(t, "cancel", kids[0].Attr("type"))
	require.NotNil(t, kids[0].Child(stanza.NSStanzas, "service-unavailable"))
	require.Equal(t, "wherefore", kids[1].Text())
	require.Equal(t, "urn:xmpp:receipts", kids[2].Space)

	// The payload is a copy: changing the reply leaves the original alone.
	kids[1].Children = nil
	require.Equal(t, before, msg.String())
}

// TestErrorReplyToAnError: an error already in the stanza (a bounced
// error) is replaced, not repeated.
func TestErrorReplyToAnError(t *testing.T) {
	p := xmlstream.New(stanza.NSClient, "presence", "from", "a@example.com/r", "to", "b@example.com", "type", "subscribe")
	p.Append(stanza.Error{Condition: stanza.Forbidden}.Element())
	p.Append(xmlstream.New(stanza.NSClient, "status").AppendText("hi"))
	r := stanza.ErrorReply(p, stanza.Error{Condition: stanza.NotAcceptable, Text: "no"})
	kids := r.Elements()
	require.Len(t, kids, 2)
	require.NotNil(t, kids[0].Child(stanza.NSStanzas, "not-acceptable"))
	require.Nil(t, kids[0].Child(stanza.NSStanzas, "forbidden"))
	require.Equal(t, "status", kids[1].Local)
}

// TestIQReplies: a result has no payload and the addresses swapped; an IQ
// error repeats the request's payload, then the error (RFC 6120 §8.3.1).
func TestIQReplies(t *testing.T) {
	iq := xmlstream.New(stanza.NSClient, "iq", "from", "a@example.com/r", "to", "example.com", "id", "q1", "type", "get")
	iq.Append(xmlstream.New("urn:xmpp:ping", "ping"))

	res := stanza.IQResult(iq)
	require.Equal(t, `<iq xmlns="jabber:client" type="result" id="q1" from="example.com" to="a@example.com/r"/>`, res.String())

	e := stanza.IQErrorReply(iq, stanza.Error{Condition: stanza.FeatureNotImplemented})
	require.Equal(t, "error", e.Attr("type"))
	require.Equal(t, "q1", e.Attr("id"))
	require.Equal(t, "example.com", e.Attr("from"))
	require.Equal(t, "a@example.com/r", e.Attr("to"))
	kids := e.Elements()
	require.Len(t, kids, 2)
	require.Equal(t, "ping", kids[0].Local)
	require.Equal(t, "error", kids[1].Local)
	require.Equal(t, "501", kids[1].Attr("code"))
	require.Len(t, iq.Elements(), 1, "the request is not modified")
}

// TestStreamError: stream errors (RFC 6120 §4.9) carry the condition and
// an optional English text in the xmpp-streams namespace.
func TestStreamError(t *testing.T) {
	require.Equal(t, `<error xmlns="http://etherx.jabber.org/streams"><policy-violation xmlns="urn:ietf:params:xml:ns:xmpp-streams"/></error>`,
		stanza.StreamError("policy-violation", "").String())
	el := stanza.StreamError("host-unknown", "no such host")
	require.Equal(t, stanza.NSStream, el.Space)
	kids := el.Elements()
	require.Len(t, kids, 2)
	require.Equal(t, stanza.NSStreams, kids[0].Space)
	require.Equal(t, "host-unknown", kids[0].Local)
	require.Equal(t, stanza.NSStreams, kids[1].Space)
	require.Equal(t, "text", kids[1].Local)
	require.Equal(t, "en", kids[1].Lang())
	require.Equal(t, "no such host", kids[1].Text())
}

func TestPayload(t *testing.T) {
	iq := xmlstream.New(stanza.NSClient, "iq", "type", "set")
	require.Nil(t, stanza.Payload(iq), "no child")
	q := xmlstream.New(stanza.NSRoster, "query")
	iq.Append(q)
	iq.AppendText(" ")
	require.Same(t, q, stanza.Payload(iq), "text between elements does not count")
	iq.Append(xmlstream.New(stanza.NSRoster, "query"))
	require.Nil(t, stanza.Payload(iq), "two children")
}
