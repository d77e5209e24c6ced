package mam

import (
	"strings"
	"unicode"

	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Namespaces (docs/modules/mod_mam.md).
const (
	NS2              = "urn:xmpp:mam:2"
	NS1              = "urn:xmpp:mam:1"
	nsExtended       = NS2 + "#extended"
	nsGroupchatField = NS2 + "#groupchat-field"
	nsGroupchatAvail = NS2 + "#groupchat-available"
	nsSID            = "urn:xmpp:sid:0"
	nsRSM            = "http://jabber.org/protocol/rsm"
	nsForward        = "urn:xmpp:forward:0"
	nsData           = "jabber:x:data"
	nsValidate       = "http://jabber.org/protocol/xdata-validate"
	nsFulltext       = "urn:xmpp:fulltext:0"
	nsHints          = "urn:xmpp:hints"
	nsMarkers        = "urn:xmpp:chat-markers:0"
	nsFasten         = "urn:xmpp:fasten:0"
	nsRetract        = "urn:xmpp:message-retract:0"
	nsRetractByID    = "urn:esl:message-retract-by-stanza-id:0"
	nsMucUser        = "http://jabber.org/protocol/muc#user"
)

// rules are the archivable rule's switches (docs/modules/mod_mam.md, "What
// is archived").
type rules struct {
	// groupchat allows messages of type groupchat (room archives, and the
	// members' archives with pm.archive_groupchats).
	groupchat bool
	// markers archives chat markers without a body (archive_chat_markers).
	markers bool
}

// archivable reports whether a message is archived (XEP-0313 §5 leaves the
// choice to the server; the rule is MongooseIM's mod_mam_utils):
//
//  1. its type is absent, normal or chat, or groupchat where group chat is
//     archived; never error or headline;
//  2. it has a top-level <body/> (empty counts), a store hint, a chat
//     marker (with archive_chat_markers) or a retraction;
//  3. it has no top-level <result/> or <delay/> (any namespace: archive
//     results, offline replays and room history are never archived again)
//     and no no-store hint.
func (r rules) archivable(el *xmlstream.Element) bool {
	switch el.Attr("type") {
	case "", "normal", "chat":
	case "groupchat":
		if !r.groupchat {
			return false
		}
	default:
		return false
	}
	keep := false
	for _, c := range el.Elements() {
		switch {
		case c.Local == "result" || c.Local == "delay":
			return false
		case c.Space == nsHints && c.Local == "no-store":
			return false
		case c.Local == "body" && c.Space == el.Space:
			keep = true
		case c.Space == nsHints && c.Local == "store":
			keep = true
		case c.Space == nsMarkers && r.markers && (c.Local == "received" || c.Local == "displayed" || c.Local == "acknowledged"):
			keep = true
		case retraction(c) != "":
			keep = true
		}
	}
	return keep
}

// retraction returns the kind of a retraction child (XEP-0424 over
// XEP-0422 fastening): nsRetract (by origin-id), nsRetractByID (by
// stanza-id), or "" when c is none.
func retraction(c *xmlstream.Element) string {
	if c.Space != nsFasten || c.Local != "apply-to" || c.Attr("id") == "" {
		return ""
	}
	for _, r := range c.Elements() {
		if r.Local == "retract" && (r.Space == nsRetract || r.Space == nsRetractByID) {
			return r.Space
		}
	}
	return ""
}

// retractionOf returns the retraction a message asks for: its kind and
// the id it names, or "" when it is none.
func retractionOf(el *xmlstream.Element) (kind, id string) {
	for _, c := range el.Elements() {
		if k := retraction(c); k != "" {
			return k, c.Attr("id")
		}
	}
	return "", ""
}

// originID returns the message's <origin-id/> (XEP-0359), or "".
func originID(el *xmlstream.Element) string {
	if c := el.Child(nsSID, "origin-id"); c != nil {
		return c.Attr("id")
	}
	return ""
}

// searchText is the text full-text search matches: the body lower-cased,
// every character that is not a letter or a digit turned into a word
// break, words separated by one space.
func searchText(el *xmlstream.Element) string {
	body := el.Child(el.Space, "body")
	if body == nil {
		return ""
	}
	return strings.Join(words(body.Text()), " ")
}

// words splits text as searchText does.
func words(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}
