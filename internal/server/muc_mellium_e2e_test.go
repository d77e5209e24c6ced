package server_test

// mod_muc driven by mellium's MUC and disco helpers (mellium.im/xmpp/muc,
// mellium.im/xmpp/disco): the room configuration form round trip and
// service discovery as that independent library implements them. Entering
// uses raw presence: mellium's muc.Client (v0.22.0) has a data race between
// Join and its presence handler that -race reports.

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/disco/items"
	mjid "mellium.im/xmpp/jid"
	"mellium.im/xmpp/muc"
)

func TestMuc_MelliumHelpers(t *testing.T) {
	t.Parallel()
	e := startMuc(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	room := mjid.MustParse("bridge@" + mucSvc)

	info, err := disco.GetInfo(ctx, "", room.Domain(), e.alice.sess)
	require.NoError(t, err)
	var vars []string
	for _, f := range info.Features {
		vars = append(vars, f.Var)
	}
	require.Contains(t, vars, muc.NS)

	self := join(t, e.alice, room.String(), "Picard", "")
	require.Contains(t, statusCodes(self), "201")
	// The owner fetches the configuration form and submits it back: the
	// room is unlocked and listed.
	f, err := muc.GetConfig(ctx, room, e.alice.sess)
	require.NoError(t, err)
	v, ok := f.GetString("FORM_TYPE")
	require.True(t, ok)
	require.Equal(t, muc.NS+"#roomconfig", v)
	require.NoError(t, muc.SetConfig(ctx, room, f, e.alice.sess))

	var listed []string
	iter := disco.FetchItems(ctx, items.Item{JID: room.Domain()}, e.bob.sess)
	for iter.Next() {
		listed = append(listed, iter.Item().JID.String())
	}
	require.NoError(t, iter.Err())
	require.NoError(t, iter.Close())
	require.Equal(t, []string{room.String()}, listed)

	// A non-owner gets the library's error value for forbidden.
	_, err = muc.GetConfig(ctx, room, e.bob.sess)
	require.Error(t, err)
	require.Contains(t, err.Error(), "forbidden")
	join(t, e.bob, room.String(), "Riker", "")
}
