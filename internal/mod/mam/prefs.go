package mam

import (
	"context"
	"slices"
	"strings"

	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// Preferences (XEP-0441; docs/modules/mod_mam.md, "Preferences"): the
// default (always, never or roster) and lists of JIDs always or never
// archived. The entry of the remote full JID decides, else that of its bare
// JID, else the default; roster archives only the contacts with a
// subscription from or both (rooms: always). Without stored preferences
// everything is archived.

// loadPrefs returns owner's preferences through the cache.
func (m *Module) loadPrefs(ctx context.Context, owner int64) (cachedPrefs, error) {
	now := m.now()
	if e, ok := m.prefs.get(owner, now); ok {
		return e, nil
	}
	p, ok, err := m.store.Prefs(ctx, owner)
	if err != nil {
		return cachedPrefs{}, err
	}
	e := cachedPrefs{p: p, stored: ok, at: now}
	m.prefs.put(owner, e)
	return e, nil
}

// keep reports whether owner's archive (ownerJID) keeps a message
// exchanged with remote. A storage failure archives (better a row too many
// than a lost one).
func (p *part) keep(ctx context.Context, owner int64, ownerJID, remote jid.JID) bool {
	e, err := p.m.loadPrefs(ctx, owner)
	if err != nil {
		p.m.log.Warn("mam: reading preferences", "owner", ownerJID.String(), "err", err)
		return true
	}
	if !e.stored {
		return true
	}
	full, bare := strings.ToLower(remote.String()), strings.ToLower(remote.Bare().String())
	for _, j := range []string{full, bare} {
		switch {
		case slices.Contains(e.p.Always, j):
			return true
		case slices.Contains(e.p.Never, j):
			return false
		}
	}
	switch e.p.Default {
	case "never":
		return false
	case "roster":
		if p.kind == KindMuc {
			return true
		}
		ev := &hooks.RosterLists{User: ownerJID}
		p.m.hooks.RosterLists.Run(ctx, ev)
		return slices.Contains(ev.From, remote.Bare())
	}
	return true
}

// prefsElement renders preferences as the <prefs/> answer in namespace ns.
func prefsElement(ns string, pr Prefs) *xmlstream.Element {
	def := pr.Default
	if def == "" {
		def = "always"
	}
	el := xmlstream.New(ns, "prefs", "default", def)
	for _, l := range []struct {
		name string
		jids []string
	}{{"always", pr.Always}, {"never", pr.Never}} {
		list := xmlstream.New(ns, l.name)
		for _, j := range l.jids {
			list.Append(xmlstream.New(ns, "jid").AppendText(j))
		}
		el.Append(list)
	}
	return el
}

// parsePrefs reads a <prefs/> set: the default, and the JIDs of the
// lists, lower-cased; JIDs that do not parse are dropped, whitespace
// between the <jid/> elements is ignored.
func parsePrefs(q *xmlstream.Element) (Prefs, error) {
	pr := Prefs{Default: q.Attr("default")}
	switch pr.Default {
	case "always", "never", "roster":
	case "":
		pr.Default = "always"
	default:
		return Prefs{}, stanza.Error{Condition: stanza.BadRequest, Text: "Invalid default value"}
	}
	for _, l := range []struct {
		name string
		dst  *[]string
	}{{"always", &pr.Always}, {"never", &pr.Never}} {
		list := q.Child(q.Space, l.name)
		if list == nil {
			continue
		}
		for _, c := range list.Elements() {
			if c.Local != "jid" {
				continue
			}
			j, err := jid.Parse(strings.TrimSpace(c.Text()))
			if err != nil {
				continue
			}
			s := strings.ToLower(j.String())
			if !slices.Contains(*l.dst, s) {
				*l.dst = append(*l.dst, s)
			}
		}
	}
	return pr, nil
}

// prefsIQ answers a <prefs/> get or set on the archive of ownerJID (may
// set: the requester may change them).
func (p *part) prefsIQ(ctx context.Context, iq, q *xmlstream.Element, ownerJID jid.JID, host string, maySet bool) *xmlstream.Element {
	m := p.m
	if iq.Attr("type") == "get" {
		p.met.getPrefs.WithLabelValues(host).Inc()
		owner, err := m.ownerID(ctx, ownerJID, false, false)
		if err != nil {
			return p.iqError(iq, host, internalError(err))
		}
		var pr Prefs
		if owner != 0 {
			if pr, _, err = m.store.Prefs(ctx, owner); err != nil {
				return p.iqError(iq, host, internalError(err))
			}
		}
		return stanza.IQResult(iq).Append(prefsElement(q.Space, pr))
	}
	if !maySet {
		return p.iqError(iq, host, stanza.Error{Condition: stanza.NotAllowed, Text: "The action is not allowed. Not a room owner."})
	}
	if p.opts.UserPrefsStore == "" {
		return p.iqError(iq, host, stanza.Error{Condition: stanza.FeatureNotImplemented, Text: "Preferences are not stored (user_prefs_store is unset)"})
	}
	pr, err := parsePrefs(q)
	if err != nil {
		return p.iqError(iq, host, err)
	}
	p.met.setPrefs.WithLabelValues(host).Inc()
	owner, err := m.ownerID(ctx, ownerJID, true, false)
	if err == nil {
		err = m.store.SetPrefs(ctx, owner, pr)
	}
	m.prefs.forget(owner)
	if err != nil {
		return p.iqError(iq, host, internalError(err))
	}
	stored, _, err := m.store.Prefs(ctx, owner)
	if err != nil {
		return p.iqError(iq, host, internalError(err))
	}
	return stanza.IQResult(iq).Append(prefsElement(q.Space, stored))
}
