package muclight

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

const fuzzHdr = `<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`

// FuzzHandle feeds arbitrary stanzas to the service as alice, owner of a
// room: the module must never panic, must answer every get/set IQ and
// must keep the room's invariants (sorted, at least one owner, unique).
func FuzzHandle(f *testing.F) {
	for _, s := range []string{
		`<message type='groupchat' to='den@muclight.localhost' id='1'><body>x</body></message>`,
		`<iq type='set' to='den@muclight.localhost' id='1'><query xmlns='urn:xmpp:muclight:0#affiliations'><user affiliation='owner'>bob@localhost</user></query></iq>`,
		`<iq type='set' to='den@muclight.localhost' id='1'><query xmlns='urn:xmpp:muclight:0#affiliations'><user affiliation='none'>alice@localhost</user><user affiliation='member'>x@y</user></query></iq>`,
		`<iq type='set' to='new@muclight.localhost' id='1'><query xmlns='urn:xmpp:muclight:0#create'><configuration><roomname>r</roomname></configuration><occupants><user affiliation='owner'>b@c</user></occupants></query></iq>`,
		`<iq type='set' to='muclight.localhost' id='1'><query xmlns='urn:xmpp:muclight:0#blocking'><room action='deny'>a@b</room></query></iq>`,
		`<iq type='get' to='muclight.localhost' id='1'><query xmlns='http://jabber.org/protocol/disco#items'><set xmlns='http://jabber.org/protocol/rsm'><max>1</max><before/></set></query></iq>`,
		`<iq type='set' to='den@muclight.localhost' id='1'><query xmlns='urn:xmpp:muclight:0#configuration'><subject>s</subject><version/></query></iq>`,
		`<presence to='den@muclight.localhost'/>`,
	} {
		f.Add(s)
	}
	m, r, _ := newTestModule(f, NewMemStore(), "")
	r.online("alice@localhost")
	ctx := context.Background()
	alice := jid.MustParse("alice@localhost/r")
	f.Fuzz(func(t *testing.T, body string) {
		room := jid.MustParse("den@muclight.localhost")
		_ = m.Destroy(ctx, room, jid.JID{}, "")
		_, err := m.CreateRoom(ctx, CreateRequest{Creator: alice, Room: room, Occupants: []Occupant{{User: jid.MustParse("bob@localhost"), Aff: AffMember}}})
		require.NoError(t, err)
		d := xmlstream.NewDecoder(strings.NewReader(fuzzHdr+body), 4096)
		if _, err := d.Header(); err != nil {
			return
		}
		el, err := d.Next()
		if err != nil {
			return
		}
		to, err := jid.Parse(el.Attr("to"))
		if err != nil || !m.IsService(to.Domain()) {
			return
		}
		el.SetAttr("from", alice.String())
		r.mu.Lock()
		r.routed = nil
		r.mu.Unlock()
		m.handle(ctx, alice, to, el)
		if el.Local == "iq" && (el.Attr("type") == "get" || el.Attr("type") == "set") {
			r.mu.Lock()
			n := 0
			for _, x := range r.routed {
				if x.Local == "iq" && x.Attr("id") == el.Attr("id") {
					n++
				}
			}
			r.mu.Unlock()
			require.Equal(t, 1, n, "one answer to %s", body)
		}
		if rm, err := m.store.Get(ctx, room); err == nil {
			checkInvariants(t, rm.Occupants)
		}
	})
}

func checkInvariants(t *testing.T, occ []Occupant) {
	t.Helper()
	owners := 0
	for i, o := range occ {
		if i > 0 {
			require.Negative(t, compareUsers(occ[i-1].User, o.User), "sorted and unique")
		}
		require.NotEqual(t, AffNone, o.Aff)
		if o.Aff == AffOwner {
			owners++
		}
	}
	if len(occ) > 0 {
		require.Equal(t, 1, owners, "single-owner room keeps exactly one owner")
	}
}

// TestConcurrentChanges runs many affiliation changes of one room at once:
// none is lost, every version differs, and the owner invariant holds.
func TestConcurrentChanges(t *testing.T) {
	forEachStore(t, func(t *testing.T, s Store) {
		ctx := context.Background()
		m, _, _ := newTestModule(t, s, "")
		room := jid.MustParse("busy@muclight.localhost")
		_, err := m.CreateRoom(ctx, CreateRequest{Creator: jid.MustParse("owner@localhost"), Room: room})
		require.NoError(t, err)
		var wg sync.WaitGroup
		errs := make(chan error, 20)
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := jid.MustParse(fmt.Sprintf("u%02d@localhost", i))
				_, err := m.ChangeAffiliations(ctx, room, jid.MustParse("owner@localhost"), []Occupant{{User: u, Aff: AffMember}}, "")
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		r, err := m.GetRoom(ctx, room, jid.JID{})
		require.NoError(t, err)
		require.Len(t, r.Occupants, 21)
		checkInvariants(t, r.Occupants)
	})
}
