package server

import (
	"context"
	"errors"
	"sort"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// mucLightAPI adapts mod_muc_light to the muc_light GraphQL category
// (api.MucLight); errors are mapped to the API's.
type mucLightAPI struct{ m *muclight.Module }

// apiMucLight returns the category's view of the module, nil when the
// module is not enabled.
func (s *Server) apiMucLight() api.MucLight {
	if s.mucLight == nil {
		return nil
	}
	return mucLightAPI{s.mucLight}
}

// apiSubdomain maps a MUC Light domain (under the configured host pattern,
// or the default one when the module is off) to its served domain.
func (s *Server) apiSubdomain(domain string) string {
	pattern := "muclight.@HOST@"
	if o := s.cfg.Modules.MucLight; o != nil && o.Host != "" {
		pattern = o.Host
	}
	for _, d := range s.router.Domains() {
		if muclight.ServiceDomain(pattern, d) == domain {
			return d
		}
	}
	return ""
}

func mucAPIErr(err error) error {
	var ve *muclight.ValidationError
	var br *muclight.BadRequestError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		return &api.MucValidationError{Key: ve.Key, Reason: ve.Reason}
	case errors.As(err, &br):
		return api.ErrMucRefused
	case errors.Is(err, muclight.ErrNoService):
		return api.ErrMucNoService
	case errors.Is(err, muclight.ErrRoomNotFound):
		return api.ErrMucRoomNotFound
	case errors.Is(err, muclight.ErrNotOccupant):
		return api.ErrMucNotOccupant
	case errors.Is(err, muclight.ErrNotAllowed):
		return api.ErrMucNotAllowed
	case errors.Is(err, muclight.ErrRoomExists):
		return api.ErrMucRoomExists
	case errors.Is(err, muclight.ErrRoomLimit):
		return api.ErrMucRoomLimit
	case errors.Is(err, muclight.ErrMaxOccupants):
		return api.ErrMucMaxOccupants
	case errors.Is(err, muclight.ErrBlockingDisabled):
		return api.ErrMucBlockingOff
	}
	return err
}

func occupantsOut(os []muclight.Occupant) []api.MucOccupant {
	out := make([]api.MucOccupant, len(os))
	for i, o := range os {
		out[i] = api.MucOccupant{User: o.User, Aff: o.Aff.String()}
	}
	return out
}

func (a mucLightAPI) IsService(domain string) bool { return a.m.IsService(domain) }

func (a mucLightAPI) CreateRoom(ctx context.Context, creator, room jid.JID, cfg []api.MucKV) (*api.MucRoom, error) {
	kvs := make([]muclight.KV, len(cfg))
	for i, kv := range cfg {
		kvs[i] = muclight.KV{Key: kv.Key, Value: kv.Value}
	}
	r, err := a.m.CreateRoom(ctx, muclight.CreateRequest{Creator: creator, Room: room, Config: kvs})
	if err != nil {
		return nil, mucAPIErr(err)
	}
	return &api.MucRoom{JID: r.JID, Occupants: occupantsOut(r.Occupants)}, nil
}

func (a mucLightAPI) Room(ctx context.Context, room jid.JID) (*api.MucRoom, error) {
	r, err := a.m.GetRoom(ctx, room, jid.JID{})
	if err != nil {
		return nil, mucAPIErr(err)
	}
	out := &api.MucRoom{JID: r.JID, Occupants: occupantsOut(r.Occupants)}
	for k, v := range a.m.InternalConfig(r.Config) {
		out.Options = append(out.Options, api.MucKV{Key: k, Value: v})
	}
	sort.Slice(out.Options, func(i, j int) bool { return out.Options[i].Key < out.Options[j].Key })
	if v, ok := a.m.ConfigValue(r.Config, "roomname"); ok {
		out.Name = &v
	}
	if v, ok := a.m.ConfigValue(r.Config, "subject"); ok {
		out.Subject = &v
	}
	return out, nil
}

func (a mucLightAPI) ChangeConfig(ctx context.Context, room, actor jid.JID, kvs []api.MucKV) ([]api.MucKV, error) {
	in := make([]muclight.KV, len(kvs))
	for i, kv := range kvs {
		in[i] = muclight.KV{Key: kv.Key, Value: kv.Value}
	}
	_, stored, err := a.m.ChangeConfig(ctx, room, actor, in, "")
	if err != nil {
		return nil, mucAPIErr(err)
	}
	out := make([]api.MucKV, len(stored))
	for i, kv := range stored {
		out[i] = api.MucKV{Key: kv.Key, Value: kv.Value}
	}
	return out, nil
}

func (a mucLightAPI) ChangeAffiliations(ctx context.Context, room, actor jid.JID, items []api.MucOccupant) error {
	in := make([]muclight.Occupant, 0, len(items))
	for _, it := range items {
		aff, ok := muclight.ParseAff(it.Aff)
		if !ok {
			return api.ErrMucRefused
		}
		in = append(in, muclight.Occupant{User: it.User.Bare(), Aff: aff})
	}
	_, err := a.m.ChangeAffiliations(ctx, room, actor, in, "")
	return mucAPIErr(err)
}

func (a mucLightAPI) Destroy(ctx context.Context, room, actor jid.JID) error {
	return mucAPIErr(a.m.Destroy(ctx, room, actor, ""))
}

func (a mucLightAPI) SendMessage(ctx context.Context, room, sender jid.JID, body string) error {
	_, err := a.m.SendMessage(ctx, room, sender, "", body)
	return mucAPIErr(err)
}

func (a mucLightAPI) UserRooms(ctx context.Context, user jid.JID) ([]jid.JID, error) {
	rooms, err := a.m.UserRooms(ctx, user)
	if err != nil {
		return nil, mucAPIErr(err)
	}
	out := make([]jid.JID, len(rooms))
	for i, r := range rooms {
		out[i] = r.JID
	}
	return out, nil
}

func (a mucLightAPI) Blocklist(ctx context.Context, user jid.JID) ([]api.MucBlockItem, error) {
	items, err := a.m.Blocklist(ctx, user)
	if err != nil {
		return nil, mucAPIErr(err)
	}
	out := make([]api.MucBlockItem, len(items))
	for i, it := range items {
		out[i] = api.MucBlockItem{Room: it.Kind == muclight.BlockRoom, Target: it.Target, Deny: true}
	}
	return out, nil
}

func (a mucLightAPI) SetBlocklist(ctx context.Context, user jid.JID, items []api.MucBlockItem) error {
	in := make([]muclight.BlockItem, len(items))
	for i, it := range items {
		k := muclight.BlockUser
		if it.Room {
			k = muclight.BlockRoom
		}
		in[i] = muclight.BlockItem{Kind: k, Target: it.Target, Deny: it.Deny}
	}
	return mucAPIErr(a.m.SetBlocklist(ctx, user, in))
}

func (a mucLightAPI) ListRooms(ctx context.Context, domain, filter, after string, limit int) ([]api.MucRoomDesc, int, bool, error) {
	page, total, more, err := a.m.ListRooms(ctx, domain, filter, after, limit)
	if err != nil {
		return nil, 0, false, mucAPIErr(err)
	}
	out := make([]api.MucRoomDesc, len(page))
	for i, r := range page {
		out[i] = api.MucRoomDesc{JID: r.JID, Name: r.Name, Subject: r.Subject, Users: r.UsersNumber}
	}
	return out, total, more, nil
}
