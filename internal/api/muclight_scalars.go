package api

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/gander-xmpp/gander/internal/jid"
)

// UnmarshalRoomName checks a RoomName input: a non-empty JID local part,
// nodeprepped (spec/muclight.md §15.2).
func UnmarshalRoomName(v any) (string, error) {
	s, err := asString(v, "failed_to_parse_room_name")
	if err != nil {
		return "", err
	}
	if s == "" {
		return "", reason("empty_room_name")
	}
	j, err := jid.New(s, "localhost", "")
	if err != nil {
		return "", reason("failed_to_parse_room_name")
	}
	return j.Local(), nil
}

// MarshalRoomName writes a RoomName.
func MarshalRoomName(s string) graphql.Marshaler { return graphql.MarshalString(s) }
