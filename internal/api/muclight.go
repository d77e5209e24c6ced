package api

import (
	"context"
	"errors"
	"sort"

	"github.com/gander-xmpp/gander/internal/jid"
)

// MucKV is one room configuration value: a schema field name (or, in
// MucRoom.Options of a stored room, the field's internal key) and its
// textual value.
type MucKV struct{ Key, Value string }

// MucOccupant is a room occupant; Aff is "owner", "member" or "none".
type MucOccupant struct {
	User jid.JID
	Aff  string
}

// MucRoom is a room as the muc_light category shows it.
type MucRoom struct {
	JID jid.JID
	// Name and Subject are the roomname and subject fields, nil when the
	// configuration schema lacks them.
	Name, Subject *string
	// Options are sorted by key.
	Options   []MucKV
	Occupants []MucOccupant
}

// MucBlockItem is a blocking list entry; Room says whether it blocks a
// room (else a user); Deny false (allow) only appears in changes.
type MucBlockItem struct {
	Room   bool
	Target jid.JID
	Deny   bool
}

// Errors a MucLight implementation returns (spec/muclight.md §15.6); any
// other error is an internal failure.
var (
	ErrMucNoService    = errors.New("muc light: no such service")
	ErrMucRoomNotFound = errors.New("muc light: room not found")
	ErrMucNotOccupant  = errors.New("muc light: not an occupant")
	ErrMucNotAllowed   = errors.New("muc light: not allowed")
	ErrMucRoomExists   = errors.New("muc light: room exists")
	ErrMucRoomLimit    = errors.New("muc light: rooms_per_user reached")
	ErrMucMaxOccupants = errors.New("muc light: max occupants reached")
	ErrMucBlockingOff  = errors.New("muc light: blocking disabled")
	ErrMucRefused      = errors.New("muc light: request refused") // other XMPP-level refusals (bad-request)
)

// MucValidationError is an invalid configuration key or value; Reason is
// e.g. "not_found" or "type_error".
type MucValidationError struct{ Key, Reason string }

func (e *MucValidationError) Error() string {
	return "Validation failed for key: " + e.Key + " with reason " + e.Reason
}

// MucLight is mod_muc_light's service API as the muc_light category needs
// it (internal/server adapts the module). It is nil when the module is not
// enabled. Rooms and users are bare JIDs. Every operation sends the XMPP
// notifications of its XMPP equivalent, with generated ids.
type MucLight interface {
	// IsService reports whether domain is a MUC Light domain.
	IsService(domain string) bool
	// CreateRoom creates a room with the creator as its only occupant; a
	// room JID without a local part asks for a generated name.
	CreateRoom(ctx context.Context, creator, room jid.JID, cfg []MucKV) (*MucRoom, error)
	// Room returns a room with its full configuration (internal keys) and
	// occupants.
	Room(ctx context.Context, room jid.JID) (*MucRoom, error)
	// ChangeConfig changes fields as actor and returns the stored values.
	ChangeConfig(ctx context.Context, room, actor jid.JID, kvs []MucKV) ([]MucKV, error)
	// ChangeAffiliations applies an affiliation change as actor.
	ChangeAffiliations(ctx context.Context, room, actor jid.JID, items []MucOccupant) error
	// Destroy deletes a room; a zero actor is an administrator, else it
	// must be an owner.
	Destroy(ctx context.Context, room, actor jid.JID) error
	// SendMessage sends a groupchat message with body from an occupant.
	SendMessage(ctx context.Context, room, sender jid.JID, body string) error
	// UserRooms returns the rooms user occupies, sorted.
	UserRooms(ctx context.Context, user jid.JID) ([]jid.JID, error)
	// Blocklist returns user's blocking list.
	Blocklist(ctx context.Context, user jid.JID) ([]MucBlockItem, error)
	// SetBlocklist denies or allows items in user's blocking list.
	SetBlocklist(ctx context.Context, user jid.JID, items []MucBlockItem) error
	// ListRooms returns a page of a MUC Light domain's rooms (§15.4
	// listRooms): after is a localpart ("" = from the start), total counts
	// every matching room, more says whether rooms follow.
	ListRooms(ctx context.Context, domain, filter, after string, limit int) (page []MucRoomDesc, total int, more bool, err error)
}

// MucRoomDesc is a room in a listing.
type MucRoomDesc struct {
	JID           jid.JID
	Name, Subject *string
	Users         int
}

// MucAPI is the muc_light category's logic, shared by the admin and user
// schemas (spec/muclight.md §15). ext arguments are the context keys and
// values added to every error of the call.
type MucAPI struct{ deps Deps }

func (r *Resolver) muc() MucAPI { return MucAPI{deps: r.deps} }

// NewMucAPI returns the muc_light logic over deps.
func NewMucAPI(deps Deps) MucAPI { return MucAPI{deps: deps} }

const modMucLight = "mod_muc_light"

// host returns the served domain a domain belongs to: itself when served,
// the served domain of a MUC Light domain, else "".
func (a MucAPI) host(domain string) string {
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

// Gate is the module gating of the category (spec/server.md §2.5) for a
// field whose host is that of domain (a served or MUC Light domain).
func (a MucAPI) Gate(domain string) error {
	h := a.host(domain)
	if h == "" {
		return nil
	}
	if a.deps.MucLight == nil || (a.deps.ModuleEnabled != nil && !a.deps.ModuleEnabled(h, modMucLight)) {
		return notLoaded([]string{modMucLight}, nil)
	}
	return nil
}

func withExt(e *Error, ext []any) *Error {
	for i := 0; i+1 < len(ext); i += 2 {
		if e.Ext == nil {
			e.Ext = map[string]any{}
		}
		e.Ext[ext[i].(string)] = ext[i+1]
	}
	return e
}

// mucErr maps a MucLight error to the category's codes; notAllowed is the
// operation's not_allowed message.
func mucErr(err error, notAllowed string, ext []any) error {
	var ve *MucValidationError
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return withExt(e, ext)
	case errors.As(err, &ve):
		return withExt(&Error{Code: "validation_error", Message: ve.Error()}, ext)
	case errors.Is(err, ErrMucNoService):
		return withExt(&Error{Code: "muc_server_not_found", Message: "MUC Light server not found"}, ext)
	case errors.Is(err, ErrMucRoomNotFound):
		return withExt(&Error{Code: "room_not_found", Message: "Room not found"}, ext)
	case errors.Is(err, ErrMucNotOccupant):
		return withExt(&Error{Code: "not_room_member", Message: "Given user does not occupy this room"}, ext)
	case errors.Is(err, ErrMucNotAllowed):
		return withExt(&Error{Code: "not_allowed", Message: notAllowed}, ext)
	case errors.Is(err, ErrMucRoomExists):
		return withExt(&Error{Code: "already_exists", Message: "Room already exists"}, ext)
	case errors.Is(err, ErrMucRoomLimit):
		return withExt(&Error{Code: "room_limit_reached", Message: "Given user has reached the rooms_per_user limit"}, ext)
	case errors.Is(err, ErrMucMaxOccupants):
		return withExt(&Error{Code: "max_occupants_reached", Message: "Max occupants number reached"}, ext)
	case errors.Is(err, ErrMucBlockingOff):
		return withExt(&Error{Code: "not_allowed", Message: "Blocking is disabled (blocking = false)"}, ext)
	}
	return err
}

// checkUser: the user's domain is served and the account exists.
func (a MucAPI) checkUser(ctx context.Context, user jid.JID, ext []any) error {
	if a.deps.Router == nil || !a.deps.Router.IsLocal(user.Domain()) {
		return withExt(&Error{Code: "user_not_found", Message: "User's domain does not exist"}, ext)
	}
	ok, err := a.deps.Accounts.UserExists(ctx, user.Domain(), user.Local())
	if err != nil {
		return err
	}
	if !ok {
		return withExt(&Error{Code: "user_not_found", Message: "Given user does not exist"}, ext)
	}
	return nil
}

// checkService: the domain is a MUC Light domain of a running module.
func (a MucAPI) checkService(domain string, ext []any) error {
	if a.deps.MucLight == nil || !a.deps.MucLight.IsService(domain) {
		return mucErr(ErrMucNoService, "", ext)
	}
	return nil
}

// occupant checks user → MUC domain → room → membership and returns the
// room and the user's affiliation.
func (a MucAPI) occupant(ctx context.Context, room, user jid.JID, ext []any) (*MucRoom, string, error) {
	if err := a.checkService(room.Domain(), ext); err != nil {
		return nil, "", err
	}
	r, err := a.deps.MucLight.Room(ctx, room.Bare())
	if err != nil {
		return nil, "", mucErr(err, "", ext)
	}
	if user.IsZero() {
		return r, "", nil
	}
	for _, o := range r.Occupants {
		if o.User == user.Bare() {
			return r, o.Aff, nil
		}
	}
	return nil, "", mucErr(ErrMucNotOccupant, "", ext)
}

func strp(s string) *string { return &s }

// configKVs merges name and subject into the options (they win).
func configKVs(name, subject *string, options []*RoomConfigDictEntryInput) []MucKV {
	var kvs []MucKV
	for _, o := range options {
		if o == nil || (name != nil && o.Key == "roomname") || (subject != nil && o.Key == "subject") {
			continue
		}
		kvs = append(kvs, MucKV{Key: o.Key, Value: o.Value})
	}
	if name != nil {
		kvs = append(kvs, MucKV{Key: "roomname", Value: *name})
	}
	if subject != nil {
		kvs = append(kvs, MucKV{Key: "subject", Value: *subject})
	}
	return kvs
}

// roomOf renders a room from key/values and participants.
func roomOf(j jid.JID, kvs []MucKV, occs []MucOccupant) *Room {
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
		out.Participants = append(out.Participants, &RoomUser{Jid: o.User, Affiliation: affOf(o.Aff)})
	}
	return out
}

func affOf(s string) Affiliation {
	switch s {
	case "owner":
		return AffiliationOwner
	case "member":
		return AffiliationMember
	}
	return AffiliationNone
}

// CreateRoom creates a room owned by owner (§15.3 createRoom).
func (a MucAPI) CreateRoom(ctx context.Context, mucDomain string, owner jid.JID, id *string, name, subject *string, options []*RoomConfigDictEntryInput, ext []any) (*Room, error) {
	if err := a.checkUser(ctx, owner, ext); err != nil {
		return nil, err
	}
	if err := a.checkService(mucDomain, ext); err != nil {
		return nil, err
	}
	local := ""
	if id != nil {
		local = *id
	}
	room, err := jid.New(local, mucDomain, "")
	if err != nil {
		return nil, withExt(&Error{Code: "validation_error", Message: "Validation failed for key: id with reason bad_room_name"}, ext)
	}
	kvs := configKVs(name, subject, options)
	r, err := a.deps.MucLight.CreateRoom(ctx, owner.Bare(), room, kvs)
	if err != nil {
		return nil, mucErr(err, "", ext)
	}
	return roomOf(r.JID, kvs, r.Occupants), nil
}

// ChangeRoomConfiguration changes fields as actor (§15.3).
func (a MucAPI) ChangeRoomConfiguration(ctx context.Context, room, actor jid.JID, name, subject *string, options []*RoomConfigDictEntryInput, ext []any) (*Room, error) {
	if err := a.checkUser(ctx, actor, ext); err != nil {
		return nil, err
	}
	if err := a.checkService(room.Domain(), ext); err != nil {
		return nil, err
	}
	stored, err := a.deps.MucLight.ChangeConfig(ctx, room.Bare(), actor.Bare(), configKVs(name, subject, options))
	if err != nil {
		return nil, mucErr(err, "Given user does not have permission to change config", ext)
	}
	return roomOf(room.Bare(), stored, nil), nil
}

// refused swallows the XMPP-level refusals of a routed request: like the
// reference, the API does not report them (§15.3 inviteUser).
func refused(err error) error {
	var ve *MucValidationError
	if errors.Is(err, ErrMucNotAllowed) || errors.Is(err, ErrMucRefused) || errors.Is(err, ErrMucMaxOccupants) ||
		errors.Is(err, ErrMucRoomLimit) || errors.As(err, &ve) {
		return nil
	}
	return err
}

// InviteUser adds recipient as a member on sender's behalf (§15.3).
func (a MucAPI) InviteUser(ctx context.Context, room, sender, recipient jid.JID, ext []any) (*string, error) {
	if err := a.checkUser(ctx, sender, ext); err != nil {
		return nil, err
	}
	if _, _, err := a.occupant(ctx, room, sender, ext); err != nil {
		return nil, err
	}
	err := a.deps.MucLight.ChangeAffiliations(ctx, room.Bare(), sender.Bare(), []MucOccupant{{User: recipient.Bare(), Aff: "member"}})
	if err := mucErr(refused(err), "", ext); err != nil {
		return nil, err
	}
	return strp("User invited successfully"), nil
}

// DeleteRoom destroys a room; a non-zero actor must be an owner (§15.3,
// §15.5).
func (a MucAPI) DeleteRoom(ctx context.Context, room, actor jid.JID, ext []any) (*string, error) {
	if err := a.checkService(room.Domain(), ext); err != nil {
		return nil, err
	}
	if err := a.deps.MucLight.Destroy(ctx, room.Bare(), actor); err != nil {
		return nil, mucErr(err, "Given user cannot delete this room", ext)
	}
	return strp("Room deleted successfully"), nil
}

// KickUser sends {user: none} from actor (§15.3, §15.5); for a user
// kicking someone else it must be an owner.
func (a MucAPI) KickUser(ctx context.Context, room, actor, user jid.JID, ext []any) (*string, error) {
	r, aff, err := a.occupant(ctx, room, actor, ext)
	if err != nil {
		return nil, err
	}
	if actor.Bare() != user.Bare() {
		if aff != "owner" {
			return nil, mucErr(ErrMucNotAllowed, "Given user does not have permission to change affiliations", ext)
		}
		found := false
		for _, o := range r.Occupants {
			found = found || o.User == user.Bare()
		}
		if !found {
			return nil, mucErr(ErrMucNotOccupant, "", ext)
		}
	}
	err = a.deps.MucLight.ChangeAffiliations(ctx, room.Bare(), actor.Bare(), []MucOccupant{{User: user.Bare(), Aff: "none"}})
	if err := mucErr(refused(err), "", ext); err != nil {
		return nil, err
	}
	return strp("Affiliation change request sent successfully"), nil
}

// CheckOccupant checks user → MUC domain → room → membership.
func (a MucAPI) CheckOccupant(ctx context.Context, room, user jid.JID, ext []any) error {
	if err := a.checkUser(ctx, user, ext); err != nil {
		return err
	}
	_, _, err := a.occupant(ctx, room, user, ext)
	return err
}

// SendMessageToRoom sends a groupchat message from an occupant (§15.3).
func (a MucAPI) SendMessageToRoom(ctx context.Context, room, from jid.JID, body string, ext []any) (*string, error) {
	if err := a.checkService(room.Domain(), ext); err != nil {
		return nil, err
	}
	if err := a.deps.MucLight.SendMessage(ctx, room.Bare(), from.Bare(), body); err != nil {
		return nil, mucErr(err, "", ext)
	}
	return strp("Message sent successfully"), nil
}

// SetBlockingList changes user's blocking list (§15.3).
func (a MucAPI) SetBlockingList(ctx context.Context, user jid.JID, items []*BlockingInput, ext []any) (*string, error) {
	if err := a.checkUser(ctx, user, ext); err != nil {
		return nil, err
	}
	if a.deps.MucLight == nil {
		return nil, notLoaded([]string{modMucLight}, nil)
	}
	var bl []MucBlockItem
	for _, it := range items {
		if it == nil {
			continue
		}
		bl = append(bl, MucBlockItem{Room: it.EntityType == BlockedEntityTypeRoom, Target: it.Entity.Bare(), Deny: it.Action != BlockingActionAllow})
	}
	if err := a.deps.MucLight.SetBlocklist(ctx, user.Bare(), bl); err != nil {
		return nil, mucErr(err, "", ext)
	}
	return strp("User blocking list updated successfully"), nil
}

// GetBlockingList returns user's blocking list (§15.4).
func (a MucAPI) GetBlockingList(ctx context.Context, user jid.JID, ext []any) ([]*BlockingItem, error) {
	if err := a.checkUser(ctx, user, ext); err != nil {
		return nil, err
	}
	if a.deps.MucLight == nil {
		return nil, notLoaded([]string{modMucLight}, nil)
	}
	items, err := a.deps.MucLight.Blocklist(ctx, user.Bare())
	if err != nil {
		return nil, mucErr(err, "", ext)
	}
	out := []*BlockingItem{}
	for _, it := range items {
		bi := &BlockingItem{EntityType: BlockedEntityTypeUser, Action: BlockingActionDeny, Entity: it.Target}
		if it.Room {
			bi.EntityType = BlockedEntityTypeRoom
		}
		out = append(out, bi)
	}
	return out, nil
}

// GetRoomConfig returns the room's full configuration and occupants; a
// non-zero user must be an occupant (§15.4, §15.5).
func (a MucAPI) GetRoomConfig(ctx context.Context, room, user jid.JID, ext []any) (*Room, error) {
	r, _, err := a.occupant(ctx, room, user, ext)
	if err != nil {
		return nil, err
	}
	out := roomOf(r.JID, r.Options, r.Occupants)
	out.Name, out.Subject = r.Name, r.Subject
	return out, nil
}

// ListRoomUsers returns the occupants; a non-zero user must be one.
func (a MucAPI) ListRoomUsers(ctx context.Context, room, user jid.JID, ext []any) ([]*RoomUser, error) {
	r, err := a.GetRoomConfig(ctx, room, user, ext)
	if err != nil {
		return nil, err
	}
	return r.Participants, nil
}

// ListUserRooms returns the rooms user occupies (§15.4).
func (a MucAPI) ListUserRooms(ctx context.Context, user jid.JID, ext []any) ([]*jid.JID, error) {
	if err := a.checkUser(ctx, user, ext); err != nil {
		return nil, err
	}
	if a.deps.MucLight == nil {
		return nil, notLoaded([]string{modMucLight}, nil)
	}
	rooms, err := a.deps.MucLight.UserRooms(ctx, user.Bare())
	if err != nil {
		return nil, err
	}
	out := make([]*jid.JID, len(rooms))
	for i := range rooms {
		out[i] = &rooms[i]
	}
	return out, nil
}

// ListRooms returns a page of the rooms of a MUC Light domain (§15.4).
func (a MucAPI) ListRooms(ctx context.Context, mucDomain string, filter *string, after *jid.JID, limit *int, ext []any) (*MUCLightRoomsPayload, error) {
	if err := a.checkService(mucDomain, ext); err != nil {
		return nil, err
	}
	f, aft, lim := "", "", 50
	if filter != nil {
		f = *filter
	}
	if after != nil {
		aft = after.Local()
	}
	if limit != nil {
		lim = *limit
	}
	page, total, more, err := a.deps.MucLight.ListRooms(ctx, mucDomain, f, aft, lim)
	if err != nil {
		return nil, mucErr(err, "", ext)
	}
	out := &MUCLightRoomsPayload{Rooms: []*MUCLightRoomDesc{}, Count: &total, NextPage: &more}
	for _, r := range page {
		n := r.Users
		out.Rooms = append(out.Rooms, &MUCLightRoomDesc{Jid: r.JID, Name: r.Name, Subject: r.Subject, UsersNumber: &n})
	}
	return out, nil
}
