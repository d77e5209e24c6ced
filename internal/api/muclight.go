package api

import (
	"context"
	"errors"
	"sort"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/muclight"
)

// MucLight is mod_muc_light's service API (*muclight.Module) as the
// muc_light category calls it; nil when the module is not enabled. Rooms
// and users are bare JIDs; an empty id generates the notifications' ids.
// Its errors are *muclight.Error and *muclight.ValidationError values
// (coded); other errors are failures.
type MucLight interface {
	IsService(domain string) bool
	CreateRoom(ctx context.Context, req muclight.CreateRequest) (*muclight.Room, error)
	RoomInfo(ctx context.Context, room, requester jid.JID) (*muclight.RoomInfo, error)
	ChangeConfig(ctx context.Context, room, actor jid.JID, kvs []muclight.KV, id string) (string, []muclight.KV, error)
	ChangeAffiliations(ctx context.Context, room, actor jid.JID, items []muclight.Occupant, id string) (bool, error)
	Destroy(ctx context.Context, room, actor jid.JID, id string) error
	SendMessage(ctx context.Context, room, sender jid.JID, id, body string) (string, error)
	UserRooms(ctx context.Context, user jid.JID) ([]*muclight.Room, error)
	Blocklist(ctx context.Context, user jid.JID) ([]muclight.BlockItem, error)
	SetBlocklist(ctx context.Context, user jid.JID, items []muclight.BlockItem) error
	ListRooms(ctx context.Context, service, filter, after string, limit int) ([]muclight.RoomDesc, int, bool, error)
}

// MucLightAPI is the muc_light category's logic, shared by the admin and
// user schemas (docs/api.md): the checks of the caller's arguments, the
// service call and the result as the schema shows it. ext arguments are
// the context keys and values added to every error of the call.
type MucLightAPI struct{ deps Deps }

func (r *Resolver) mucLight() MucLightAPI { return MucLightAPI{deps: r.deps} }

// NewMucLightAPI returns the muc_light logic over deps.
func NewMucLightAPI(deps Deps) MucLightAPI { return MucLightAPI{deps: deps} }

const modMucLight = "mod_muc_light"

// host returns the served domain a domain belongs to: itself when served,
// the served domain of a MUC Light domain, else "".
func (a MucLightAPI) host(domain string) string {
	if a.deps.Router == nil {
		return ""
	}
	if a.deps.Router.IsLocal(domain) {
		return domain
	}
	if a.deps.Subdomain != nil {
		return a.deps.Subdomain(domain)
	}
	return ""
}

// Gate is the module gating of the category (docs/api.md) for a field
// whose host is that of domain (a served or MUC Light domain).
func (a MucLightAPI) Gate(domain string) error {
	h := a.host(domain)
	if h == "" {
		return nil
	}
	if a.deps.MucLight == nil || (a.deps.ModuleEnabled != nil && !a.deps.ModuleEnabled(h, modMucLight)) {
		return notLoaded([]string{modMucLight}, nil)
	}
	return nil
}

// checkUser: the user's domain is served and the account exists.
func (a MucLightAPI) checkUser(ctx context.Context, user jid.JID) error {
	if a.deps.Router == nil || !a.deps.Router.IsLocal(user.Domain()) {
		return apiErr("user_not_found", "User's domain does not exist")
	}
	ok, err := a.deps.Accounts.UserExists(ctx, user.Domain(), user.Local())
	if err != nil {
		return err
	}
	if !ok {
		return apiErr("user_not_found", "Given user does not exist")
	}
	return nil
}

// service returns the module when domain is one of its MUC Light domains.
func (a MucLightAPI) service(domain string) (MucLight, error) {
	if a.deps.MucLight == nil || !a.deps.MucLight.IsService(domain) {
		return nil, muclight.ErrNoService
	}
	return a.deps.MucLight, nil
}

// loaded returns the module, deps_not_loaded without it.
func (a MucLightAPI) loaded() (MucLight, error) {
	if a.deps.MucLight == nil {
		return nil, notLoaded([]string{modMucLight}, nil)
	}
	return a.deps.MucLight, nil
}

// occupant checks MUC domain → room → membership of a non-zero user and
// returns the room.
func (a MucLightAPI) occupant(ctx context.Context, room, user jid.JID) (*muclight.RoomInfo, error) {
	ml, err := a.service(room.Domain())
	if err != nil {
		return nil, err
	}
	return ml.RoomInfo(ctx, room.Bare(), user.Bare())
}

func strp(s string) *string { return &s }

// configKVs merges name and subject into the options (they win).
func configKVs(name, subject *string, options []*RoomConfigDictEntryInput) []muclight.KV {
	var kvs []muclight.KV
	for _, o := range options {
		if o == nil || (name != nil && o.Key == "roomname") || (subject != nil && o.Key == "subject") {
			continue
		}
		kvs = append(kvs, muclight.KV{Key: o.Key, Value: o.Value})
	}
	if name != nil {
		kvs = append(kvs, muclight.KV{Key: "roomname", Value: *name})
	}
	if subject != nil {
		kvs = append(kvs, muclight.KV{Key: "subject", Value: *subject})
	}
	return kvs
}

// roomOf is a room as the schema shows it, from key/values (the last value
// of a key wins) and occupants.
func roomOf(j jid.JID, kvs []muclight.KV, occs []muclight.Occupant) *Room {
	out := &Room{Jid: j, Participants: []*RoomUser{}, Options: []*RoomConfigDictEntry{}}
	seen := map[string]int{}
	for _, kv := range kvs {
		if i, ok := seen[kv.Key]; ok {
			out.Options[i].Value = kv.Value
			continue
		}
		seen[kv.Key] = len(out.Options)
		out.Options = append(out.Options, &RoomConfigDictEntry{Key: kv.Key, Value: kv.Value})
	}
	sort.Slice(out.Options, func(i, k int) bool { return out.Options[i].Key < out.Options[k].Key })
	for _, o := range out.Options {
		switch o.Key {
		case "roomname":
			out.Name = strp(o.Value)
		case "subject":
			out.Subject = strp(o.Value)
		}
	}
	for _, o := range occs {
		out.Participants = append(out.Participants, &RoomUser{Jid: o.User, Affiliation: affiliationOf(o.Aff)})
	}
	return out
}

func affiliationOf(a muclight.Aff) Affiliation {
	switch a {
	case muclight.AffOwner:
		return AffiliationOwner
	case muclight.AffMember:
		return AffiliationMember
	}
	return AffiliationNone
}

// CreateRoom creates a room owned by owner (createRoom).
func (a MucLightAPI) CreateRoom(ctx context.Context, mucDomain string, owner jid.JID, id *string, name, subject *string, options []*RoomConfigDictEntryInput, ext []any) (*Room, error) {
	r, err := a.createRoom(ctx, mucDomain, owner, deref(id, ""), configKVs(name, subject, options))
	return r, withContext(err, ext...)
}

func (a MucLightAPI) createRoom(ctx context.Context, mucDomain string, owner jid.JID, id string, kvs []muclight.KV) (*Room, error) {
	if err := a.checkUser(ctx, owner); err != nil {
		return nil, err
	}
	ml, err := a.service(mucDomain)
	if err != nil {
		return nil, err
	}
	room, err := jid.New(id, mucDomain, "")
	if err != nil {
		return nil, &muclight.ValidationError{Key: "id", Reason: "bad_room_name"}
	}
	r, err := ml.CreateRoom(ctx, muclight.CreateRequest{Creator: owner.Bare(), Room: room, Config: kvs})
	if err != nil {
		return nil, err
	}
	return roomOf(r.JID, kvs, r.Occupants), nil
}

// ChangeRoomConfiguration changes fields as actor (changeRoomConfiguration).
func (a MucLightAPI) ChangeRoomConfiguration(ctx context.Context, room, actor jid.JID, name, subject *string, options []*RoomConfigDictEntryInput, ext []any) (*Room, error) {
	r, err := a.changeRoomConfiguration(ctx, room, actor, configKVs(name, subject, options))
	return r, withContext(err, ext...)
}

func (a MucLightAPI) changeRoomConfiguration(ctx context.Context, room, actor jid.JID, kvs []muclight.KV) (*Room, error) {
	if err := a.checkUser(ctx, actor); err != nil {
		return nil, err
	}
	ml, err := a.service(room.Domain())
	if err != nil {
		return nil, err
	}
	_, stored, err := ml.ChangeConfig(ctx, room.Bare(), actor.Bare(), kvs, "")
	if err != nil {
		return nil, err
	}
	return roomOf(room.Bare(), stored, nil), nil
}

// refused swallows the XMPP-level refusals of a routed request: like the
// reference, the API does not report them (inviteUser, kickUser).
func refused(err error) error {
	var ve *muclight.ValidationError
	var br *muclight.BadRequestError
	if errors.Is(err, muclight.ErrNotAllowed) || errors.As(err, &br) || errors.Is(err, muclight.ErrMaxOccupants) ||
		errors.Is(err, muclight.ErrRoomLimit) || errors.As(err, &ve) {
		return nil
	}
	return err
}

// InviteUser adds recipient as a member on sender's behalf (inviteUser).
func (a MucLightAPI) InviteUser(ctx context.Context, room, sender, recipient jid.JID, ext []any) (*string, error) {
	err := a.checkUser(ctx, sender)
	if err == nil {
		_, err = a.occupant(ctx, room, sender)
	}
	if err == nil {
		_, err = a.deps.MucLight.ChangeAffiliations(ctx, room.Bare(), sender.Bare(), []muclight.Occupant{{User: recipient.Bare(), Aff: muclight.AffMember}}, "")
		err = refused(err)
	}
	if err != nil {
		return nil, withContext(err, ext...)
	}
	return strp("User invited successfully"), nil
}

// DeleteRoom destroys a room; a non-zero actor must be an owner
// (deleteRoom).
func (a MucLightAPI) DeleteRoom(ctx context.Context, room, actor jid.JID, ext []any) (*string, error) {
	ml, err := a.service(room.Domain())
	if err == nil {
		err = ml.Destroy(ctx, room.Bare(), actor, "")
	}
	if err != nil {
		return nil, withContext(err, ext...)
	}
	return strp("Room deleted successfully"), nil
}

// KickUser sends {user: none} from actor (kickUser); for a user kicking
// someone else it must be an owner.
func (a MucLightAPI) KickUser(ctx context.Context, room, actor, user jid.JID, ext []any) (*string, error) {
	if err := a.kickUser(ctx, room, actor, user); err != nil {
		return nil, withContext(err, ext...)
	}
	return strp("Affiliation change request sent successfully"), nil
}

func (a MucLightAPI) kickUser(ctx context.Context, room, actor, user jid.JID) error {
	r, err := a.occupant(ctx, room, actor)
	if err != nil {
		return err
	}
	if actor.Bare() != user.Bare() {
		aff, found := muclight.AffNone, false
		for _, o := range r.Occupants {
			if o.User == actor.Bare() {
				aff = o.Aff
			}
			found = found || o.User == user.Bare()
		}
		if aff != muclight.AffOwner {
			return apiErr("not_allowed", "Given user does not have permission to change affiliations")
		}
		if !found {
			return muclight.ErrNotOccupant
		}
	}
	_, err = a.deps.MucLight.ChangeAffiliations(ctx, room.Bare(), actor.Bare(), []muclight.Occupant{{User: user.Bare(), Aff: muclight.AffNone}}, "")
	return refused(err)
}

// SendMessageToRoom sends a groupchat message from an occupant
// (sendMessageToRoom): user → MUC domain → room → membership.
func (a MucLightAPI) SendMessageToRoom(ctx context.Context, room, from jid.JID, body string, ext []any) (*string, error) {
	err := a.checkUser(ctx, from)
	if err == nil {
		_, err = a.occupant(ctx, room, from)
	}
	if err == nil {
		_, err = a.deps.MucLight.SendMessage(ctx, room.Bare(), from.Bare(), "", body)
	}
	if err != nil {
		return nil, withContext(err, ext...)
	}
	return strp("Message sent successfully"), nil
}

// blockItems is a blocking list change as the service takes it.
func blockItems(items []*BlockingInput) []muclight.BlockItem {
	var out []muclight.BlockItem
	for _, it := range items {
		if it == nil {
			continue
		}
		k := muclight.BlockUser
		if it.EntityType == BlockedEntityTypeRoom {
			k = muclight.BlockRoom
		}
		out = append(out, muclight.BlockItem{Kind: k, Target: it.Entity.Bare(), Deny: it.Action != BlockingActionAllow})
	}
	return out
}

// SetBlockingList changes user's blocking list (setBlockingList).
func (a MucLightAPI) SetBlockingList(ctx context.Context, user jid.JID, items []*BlockingInput, ext []any) (*string, error) {
	if err := a.checkUser(ctx, user); err != nil {
		return nil, withContext(err, ext...)
	}
	ml, err := a.loaded()
	if err != nil {
		return nil, err
	}
	if err := ml.SetBlocklist(ctx, user.Bare(), blockItems(items)); err != nil {
		return nil, withContext(err, ext...)
	}
	return strp("User blocking list updated successfully"), nil
}

// GetBlockingList returns user's blocking list (getBlockingList).
func (a MucLightAPI) GetBlockingList(ctx context.Context, user jid.JID, ext []any) ([]*BlockingItem, error) {
	if err := a.checkUser(ctx, user); err != nil {
		return nil, withContext(err, ext...)
	}
	ml, err := a.loaded()
	if err != nil {
		return nil, err
	}
	items, err := ml.Blocklist(ctx, user.Bare())
	if err != nil {
		return nil, withContext(err, ext...)
	}
	out := []*BlockingItem{}
	for _, it := range items {
		bi := &BlockingItem{EntityType: BlockedEntityTypeUser, Action: BlockingActionDeny, Entity: it.Target}
		if it.Kind == muclight.BlockRoom {
			bi.EntityType = BlockedEntityTypeRoom
		}
		out = append(out, bi)
	}
	return out, nil
}

// GetRoomConfig returns the room's full configuration and occupants; a
// non-zero user must be an occupant (getRoomConfig).
func (a MucLightAPI) GetRoomConfig(ctx context.Context, room, user jid.JID, ext []any) (*Room, error) {
	r, err := a.occupant(ctx, room, user)
	if err != nil {
		return nil, withContext(err, ext...)
	}
	out := roomOf(r.JID, r.Config, r.Occupants)
	out.Name, out.Subject = r.Name, r.Subject
	return out, nil
}

// ListRoomUsers returns the occupants; a non-zero user must be one
// (listRoomUsers).
func (a MucLightAPI) ListRoomUsers(ctx context.Context, room, user jid.JID, ext []any) ([]*RoomUser, error) {
	r, err := a.GetRoomConfig(ctx, room, user, ext)
	if err != nil {
		return nil, err
	}
	return r.Participants, nil
}

// ListUserRooms returns the rooms user occupies (listUserRooms).
func (a MucLightAPI) ListUserRooms(ctx context.Context, user jid.JID, ext []any) ([]*jid.JID, error) {
	if err := a.checkUser(ctx, user); err != nil {
		return nil, withContext(err, ext...)
	}
	ml, err := a.loaded()
	if err != nil {
		return nil, err
	}
	rooms, err := ml.UserRooms(ctx, user.Bare())
	if err != nil {
		return nil, err
	}
	out := make([]*jid.JID, len(rooms))
	for i := range rooms {
		out[i] = &rooms[i].JID
	}
	return out, nil
}

// ListRooms returns a page of the rooms of a MUC Light domain (listRooms).
func (a MucLightAPI) ListRooms(ctx context.Context, mucDomain string, filter *string, after *jid.JID, limit *int, ext []any) (*MUCLightRoomsPayload, error) {
	ml, err := a.service(mucDomain)
	if err != nil {
		return nil, withContext(err, ext...)
	}
	aft := ""
	if after != nil {
		aft = after.Local()
	}
	page, total, more, err := ml.ListRooms(ctx, mucDomain, deref(filter, ""), aft, deref(limit, 50))
	if err != nil {
		return nil, withContext(err, ext...)
	}
	out := &MUCLightRoomsPayload{Rooms: []*MUCLightRoomDesc{}, Count: &total, NextPage: &more}
	for _, r := range page {
		n := r.UsersNumber
		out.Rooms = append(out.Rooms, &MUCLightRoomDesc{Jid: r.JID, Name: r.Name, Subject: r.Subject, UsersNumber: &n})
	}
	return out, nil
}
