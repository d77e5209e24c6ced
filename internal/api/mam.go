package api

import (
	"context"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/mam"
)

// Mam is mod_mam's service API (*mam.Module) as the stanza and muc_light
// categories call it (docs/modules/mod_mam.md, "GraphQL"); nil when the
// module is not enabled. Errors other than *mam.Error are storage
// failures.
type Mam interface {
	LastMessages(ctx context.Context, user jid.JID, with *jid.JID, limit int, before time.Time) ([]mam.Message, int, error)
	RoomMessages(ctx context.Context, room jid.JID, pageSize int, before time.Time) ([]mam.Message, int, error)
}

// Module names of mod_mam's parts, for module gating.
const (
	modMamPM  = "mod_mam_pm"
	modMamMuc = "mod_mam_muc"
)

// MamAPI is the archive's logic shared by the admin and user schemas: the
// checks of the arguments, the service call and the result as the schema
// shows it.
type MamAPI struct{ deps Deps }

// NewMamAPI returns the archive logic over deps.
func NewMamAPI(deps Deps) MamAPI { return MamAPI{deps: deps} }

func (r *Resolver) mam() MamAPI { return MamAPI{deps: r.deps} }

// GetLastMessages is stanza.getLastMessages for caller (the admin's
// argument, or the user itself): gated on mod_mam_pm for the caller's
// domain, which must be served, and the account must exist.
func (a MamAPI) GetLastMessages(ctx context.Context, caller jid.JID, with *jid.JID, limit *int, before *time.Time) (*StanzasPayload, error) {
	if err := RequireModules(a.deps, caller.Domain(), modMamPM); err != nil {
		return nil, err
	}
	if a.deps.Router == nil || !a.deps.Router.IsLocal(caller.Domain()) {
		return nil, apiErr("unknown_user", "User's domain does not exist", "caller", caller.String())
	}
	ok, err := a.deps.Accounts.UserExists(ctx, caller.Domain(), caller.Local())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apiErr("unknown_user", "User does not exist", "caller", caller.String())
	}
	if a.deps.Mam == nil {
		return nil, notLoaded([]string{modMamPM}, nil)
	}
	msgs, n, err := a.deps.Mam.LastMessages(ctx, caller.Bare(), with, deref(limit, 50), OrZero(before))
	return stanzasPayload(msgs, n, err)
}

// GetRoomMessages is muc_light.getRoomMessages: gated on mod_muc_light and
// mod_mam_muc; the room must exist and a non-zero member must occupy it.
func (a MamAPI) GetRoomMessages(ctx context.Context, room, member jid.JID, pageSize *int, before *time.Time) (*StanzasPayload, error) {
	ml := NewMucLightAPI(a.deps)
	if err := ml.Gate(room.Domain()); err != nil {
		return nil, err
	}
	if h := ml.host(room.Domain()); h != "" {
		if err := RequireModules(a.deps, h, modMamMuc); err != nil {
			return nil, err
		}
	}
	if _, err := ml.occupant(ctx, room, member); err != nil {
		return nil, withContext(err, "room", room.String())
	}
	if a.deps.Mam == nil {
		return nil, notLoaded([]string{modMamMuc}, nil)
	}
	msgs, n, err := a.deps.Mam.RoomMessages(ctx, room.Bare(), deref(pageSize, 0), OrZero(before))
	if err != nil {
		if _, ok := err.(*mam.Error); !ok {
			// spec'd code and message, spelled as in the reference
			err = apiErr("internal", "Internal error occured "+err.Error(), "room", room.String())
		}
	}
	return stanzasPayload(msgs, n, err)
}

// stanzasPayload is a list of archived messages as the schema shows it.
func stanzasPayload(msgs []mam.Message, limit int, err error) (*StanzasPayload, error) {
	if err != nil {
		return nil, err
	}
	out := &StanzasPayload{Stanzas: make([]*StanzaMap, len(msgs)), Limit: &limit}
	for i, m := range msgs {
		sm := &StanzaMap{Timestamp: &MicroTime{m.Time}, StanzaID: &m.StanzaID, Stanza: m.Stanza}
		if s, err := jid.Parse(m.Sender); err == nil {
			sm.Sender = &s
		}
		out.Stanzas[i] = sm
	}
	return out, nil
}
