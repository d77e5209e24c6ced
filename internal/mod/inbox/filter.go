package inbox

import "github.com/gander-xmpp/gander/internal/xmlstream"

// The message filter: which messages update an inbox entry, and which
// reset its unread count (docs/modules/mod_inbox.md).

// filter is the set of rules of the message filter (spec/inbox.md §8.2)
// that a path applies.
type filter int

const (
	// allRules is the global filter, rules 1-4: the one-to-one and MUC
	// Light paths.
	allRules filter = iota
	// contentRules is the classic MUC path's (§8.5, Gander): rule 2 (a
	// body, a store hint, a chat marker or a retraction) and the no-store
	// hint only. The path sees the room's live broadcast: its type is
	// groupchat, and <delay>, <result> and the owner's account are not
	// checked.
	contentRules
)

// classify applies the rules of f to el and reports whether the message is
// considered, and whether it carries a chat marker.
func (f filter) classify(el *xmlstream.Element) (ok, marker bool) {
	if f == allRules {
		switch el.Attr("type") {
		case "", "normal", "chat", "groupchat":
		default:
			return false, false
		}
	}
	wanted := false
	for _, c := range el.Elements() {
		switch {
		case c.Space == nsHints && c.Local == "no-store":
			return false, false
		case f == allRules && (c.Local == "result" || c.Local == "delay" || c.Space == NSConversation):
			return false, false
		case c.Local == "body" && c.Space == el.Space:
			wanted = true
		case c.Space == nsHints && c.Local == "store":
			wanted = true
		case c.Space == nsMarkers && (c.Local == "received" || c.Local == "displayed" || c.Local == "acknowledged") && c.Attr("id") != "":
			wanted, marker = true, true
		case c.Space == nsFasten && c.Local == "apply-to" && c.Attr("id") != "" && isRetract(c):
			wanted = true
		}
	}
	return wanted, marker
}

func isRetract(applyTo *xmlstream.Element) bool {
	for _, c := range applyTo.Elements() {
		if c.Local == "retract" && (c.Space == "urn:xmpp:message-retract:0" || c.Space == "urn:esl:message-retract-by-stanza-id:0") {
			return true
		}
	}
	return false
}

// resetMarkerID returns the id of the first configured reset marker the
// message carries (§8.6: matched by element name only).
func (m *Module) resetMarkerID(el *xmlstream.Element) (string, bool) {
	for _, name := range m.opts.ResetMarkers {
		for _, c := range el.Elements() {
			if c.Local == name {
				return c.Attr("id"), true
			}
		}
	}
	return "", false
}
