package inbox

import (
	"context"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// mucBroadcast is the classic MUC path (spec/inbox.md §8.5): one event per
// groupchat message a room broadcasts, applied to the room's affiliation
// list, whether the affiliated users are in the room or not.
func (m *Module) mucBroadcast(ctx context.Context, ev *hooks.MucGroupchatBroadcast) bool {
	el := ev.Stanza
	ok, marker := contentRules.classify(el)
	if !ok {
		return false
	}
	room := remoteKey(ev.Room)
	sender := ev.Sender.Bare()
	for _, a := range ev.Affiliations {
		u := a.User.Bare()
		// Outcasts are skipped; users without an affiliation are not in
		// the list. Users of domains this server does not serve are
		// skipped too.
		if a.Affiliation == "outcast" || a.Affiliation == "none" || u.Local() == "" || !m.r.IsLocal(u.Domain()) {
			continue
		}
		// Each user's write has its own timestamp (§8.5).
		ts := m.timestamp()
		if u == sender {
			if id, found := m.resetMarkerID(el); found {
				if err := m.resetUnread(ctx, owner(u), room, &id, ts); err != nil {
					m.log.Error("inbox: muc marker reset", "owner", u.String(), "err", err)
				}
			}
			if !marker {
				m.write(ctx, u, u, room, withTo(el, u.String()), ts, 0, false)
			}
			continue
		}
		if !marker {
			m.write(ctx, u, u, room, withTo(el, u.String()), ts, 1, true)
		}
	}
	return false
}

// withTo returns a shallow copy of el with to set (the stored copy of
// §8.5: from room/nick, to the affiliated user's bare JID).
func withTo(el *xmlstream.Element, to string) *xmlstream.Element { return el.WithAttr("to", to) }
