package muc

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/metrics"
	"github.com/gander-xmpp/gander/internal/router"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func j(s string) jid.JID { return jid.MustParse(s) }

func testRoom() *Room {
	r := newRoom(j("room@conference.example.com"), 3, 10, &queueMetrics{queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "q"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "d"})})
	r.affs[j("owner@example.com")] = affOwner
	r.affs[j("admin@example.com")] = affAdmin
	r.affs[j("member@example.com")] = affMember
	r.affs[j("bad@example.com")] = affOutcast
	return r
}

func TestCanJoin(t *testing.T) {
	r := testRoom()
	r.add(j("member@example.com/a"), "mem", nil)
	for _, tc := range []struct {
		name, full, nick string
		locked           bool
		want             error
	}{
		{"free nick", "other@example.com/x", "o", false, nil},
		{"nick in use", "other@example.com/x", "mem", false, ErrNickConflict},
		{"same full JID, same nick", "member@example.com/a", "mem", false, nil},
		{"same bare, other resource, same nick", "member@example.com/b", "mem", false, ErrNickConflict},
		{"outcast", "bad@example.com/x", "b", false, ErrBanned},
		{"outcast before conflict", "bad@example.com/x", "mem", false, ErrBanned},
		{"locked, not owner", "member@example.com/b", "m2", true, ErrLocked},
		{"locked, owner", "owner@example.com/x", "own", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.locked = tc.locked
			require.ErrorIs(t, r.canJoin(j(tc.full), tc.nick), tc.want)
		})
	}
}

func TestCheckAffChanges(t *testing.T) {
	for _, tc := range []struct {
		name, actor string
		changes     []affChange
		want        error
	}{
		{"owner grants member", "owner@example.com", []affChange{{j("x@example.com"), affMember}}, nil},
		{"owner grants owner", "owner@example.com", []affChange{{j("x@example.com"), affOwner}}, nil},
		{"owner demotes admin", "owner@example.com", []affChange{{j("admin@example.com"), affNone}}, nil},
		{"last owner steps down", "owner@example.com", []affChange{{j("owner@example.com"), affMember}}, ErrLastOwner},
		{"owner hands over", "owner@example.com", []affChange{{j("x@example.com"), affOwner}, {j("owner@example.com"), affMember}}, nil},
		{"admin bans member", "admin@example.com", []affChange{{j("member@example.com"), affOutcast}}, nil},
		{"admin lifts ban", "admin@example.com", []affChange{{j("bad@example.com"), affNone}}, nil},
		{"admin bans owner", "admin@example.com", []affChange{{j("owner@example.com"), affOutcast}}, ErrNotAllowed},
		{"admin demotes admin", "admin@example.com", []affChange{{j("admin@example.com"), affMember}}, ErrNotAllowed},
		{"admin grants admin", "admin@example.com", []affChange{{j("x@example.com"), affAdmin}}, ErrForbidden},
		{"member grants member", "member@example.com", []affChange{{j("x@example.com"), affMember}}, ErrForbidden},
		{"stranger", "x@example.com", []affChange{{j("y@example.com"), affMember}}, ErrForbidden},
		{"unknown affiliation", "owner@example.com", []affChange{{j("x@example.com"), "boss"}}, ErrBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := testRoom()
			before := len(r.affs)
			require.ErrorIs(t, r.checkAffChanges(j(tc.actor), tc.changes), tc.want)
			require.Len(t, r.affs, before, "check does not modify")
		})
	}
}

func TestApplyAffChanges(t *testing.T) {
	r := testRoom()
	done := r.applyAffChanges([]affChange{{j("member@example.com"), affMember}, {j("bad@example.com"), affNone}, {j("x@example.com"), affMember}})
	require.Equal(t, []affChange{{j("bad@example.com"), affNone}, {j("x@example.com"), affMember}}, done)
	require.Equal(t, affNone, r.affiliation(j("bad@example.com/r")))
	require.Equal(t, []jid.JID{j("member@example.com"), j("x@example.com")}, r.affList(affMember))
}

func TestHistory(t *testing.T) {
	r := testRoom() // history_size 3
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i, body := range []string{"one", "two", "three", "four"} {
		el := xmlstream.New(stanza.NSClient, "message")
		el.Append(xmlstream.New(stanza.NSClient, "body").AppendText(body))
		r.remember(el, t0.Add(time.Duration(i)*time.Minute))
	}
	bodies := func(hs []histEntry) string {
		var out []string
		for _, h := range hs {
			out = append(out, h.el.ChildText(stanza.NSClient, "body"))
		}
		return strings.Join(out, ",")
	}
	now := t0.Add(3 * time.Minute)
	size := r.history[len(r.history)-1].size
	for _, tc := range []struct {
		name, hist string
		want       string
	}{
		{"no history element", "", "two,three,four"},
		{"maxstanzas", `maxstanzas='2'`, "three,four"},
		{"maxstanzas 0", `maxstanzas='0'`, ""},
		{"maxchars 0", `maxchars='0'`, ""},
		{"maxchars one stanza", "maxchars='" + strconv.Itoa(size) + "'", "four"},
		{"seconds", `seconds='90'`, "three,four"},
		{"since", `since='2026-01-01T12:02:00Z'`, "three,four"},
		{"bad values are ignored", `maxstanzas='x' seconds='-1'`, "two,three,four"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var h *xmlstream.Element
			if tc.hist != "" {
				h = parseEl(t, "<history xmlns='"+NS+"' "+tc.hist+"/>")
			}
			require.Equal(t, tc.want, bodies(r.selectHistory(parseHistory(h, now))))
		})
	}
}

func parseEl(t *testing.T, raw string) *xmlstream.Element {
	t.Helper()
	d := xmlstream.NewDecoder(strings.NewReader(`<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>`+raw), 0)
	_, err := d.Header()
	require.NoError(t, err)
	el, err := d.Next()
	require.NoError(t, err)
	return el
}

func TestErrorMapping(t *testing.T) {
	require.Equal(t, stanza.Conflict, toStanzaError(ErrNickConflict).Condition)
	require.Equal(t, stanza.NotAcceptable, toStanzaError(ErrNotOccupant).Condition)
	require.Equal(t, stanza.FeatureNotImplemented, toStanzaError(ErrNotImplemented).Condition)
	require.Equal(t, stanza.InternalServerError, toStanzaError(errors.New("other")).Condition)
}

// fakeRouter records routed stanzas; bounce makes it answer every
// groupchat copy with an error back to the room, as the real router does
// for an occupant whose session is gone, re-entering the module.
type fakeRouter struct {
	mu     sync.Mutex
	bounce bool
	routed []string
	svc    router.Service
}

func (f *fakeRouter) Route(ctx context.Context, from, to jid.JID, el *xmlstream.Element) {
	f.mu.Lock()
	f.routed = append(f.routed, to.String()+" "+el.String())
	f.mu.Unlock()
	if f.bounce && el.Attr("type") == "groupchat" && to.Domain() != "conference.example.com" {
		e := stanza.ErrorReply(el, stanza.Error{Condition: stanza.ServiceUnavailable})
		f.svc(ctx, to, from, e)
		// And a new message from the occupant while the room is sending.
		if el.ChildText(stanza.NSClient, "body") == "first" {
			msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat")
			msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("second"))
			f.svc(ctx, to, from.Bare(), msg)
		}
	}
}
func (f *fakeRouter) RegisterService(_ string, svc router.Service) { f.svc = svc }
func (f *fakeRouter) UnregisterService(string)                     {}

func TestReentrantRoutingKeepsOrder(t *testing.T) {
	fr := &fakeRouter{}
	h := &hooks.Hooks{}
	var broadcasts []string
	h.MucGroupchatBroadcast.Add(0, "test", func(_ context.Context, ev *hooks.MucGroupchatBroadcast) bool {
		broadcasts = append(broadcasts, ev.Nick+":"+ev.Stanza.ChildText(stanza.NSClient, "body"))
		return false
	})
	m := started(t, Deps{Router: fr, Hooks: h, Domains: []string{"example.com"}}, config.ModMuc{Host: "conference.@HOST@", HistorySize: 20})
	ctx := context.Background()
	owner := j("owner@example.com/a")
	m.handle(ctx, owner, j("room@conference.example.com/own"), xmlstream.New(stanza.NSClient, "presence"))
	r, _ := m.room(j("room@conference.example.com"), false)
	require.NotNil(t, r)
	require.Equal(t, affOwner, r.affiliation(owner))
	fr.bounce = true
	msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", "m1")
	msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText("first"))
	m.handle(ctx, owner, j("room@conference.example.com"), msg)
	// The message sent while the first broadcast was being routed is
	// broadcast after it, by the same flush.
	require.Equal(t, []string{"own:first", "own:second"}, broadcasts)
	fr.mu.Lock()
	defer fr.mu.Unlock()
	var bodies []string
	for _, s := range fr.routed {
		if strings.Contains(s, "<body>") && strings.HasPrefix(s, "owner@example.com/a ") {
			bodies = append(bodies, s[strings.Index(s, "<body>")+6:strings.Index(s, "</body>")])
		}
	}
	require.Equal(t, []string{"first", "second"}, bodies)
}

func TestUserRemovedDropsAffiliations(t *testing.T) {
	h := &hooks.Hooks{}
	m := started(t, Deps{Router: &fakeRouter{}, Hooks: h, Domains: []string{"example.com"}}, config.ModMuc{Host: "conference.@HOST@"})
	ctx := context.Background()
	m.handle(ctx, j("owner@example.com/a"), j("room@conference.example.com/own"), xmlstream.New(stanza.NSClient, "presence"))
	r, _ := m.room(j("room@conference.example.com"), false)
	r.mu.Lock()
	r.affs[j("member@example.com")] = affMember
	r.mu.Unlock()
	h.UserRemoved.Run(ctx, &hooks.UserEvent{User: j("member@example.com")})
	r.mu.Lock()
	defer r.mu.Unlock()
	require.Equal(t, affNone, r.affiliation(j("member@example.com")))
	require.Equal(t, affOwner, r.affiliation(j("owner@example.com")))
	require.NoError(t, m.Stop(ctx))
	require.Zero(t, h.UserRemoved.Len()+h.SessionClosed.Len()+h.DiscoItems.Len())
}

// started builds and starts a module for a test.
func started(t testing.TB, d Deps, cfg config.ModMuc) *Module {
	t.Helper()
	m, err := New(d, cfg)
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	return m
}

// TestRoomQueueIsBounded: while another sender holds a room's flush, its
// outgoing queue fills up to room_queue_size; a groupchat message that
// finds it full is refused with resource-constraint (not queued), and the
// queue's gauge and drop counter say so. Once the flush runs, everything
// queued is delivered and the gauge returns to 0.
func TestRoomQueueIsBounded(t *testing.T) {
	fr := &fakeRouter{}
	reg := metrics.New()
	m := started(t, Deps{Router: fr, Hooks: &hooks.Hooks{}, Metrics: reg, Domains: []string{"example.com"}},
		config.ModMuc{Host: "conference.@HOST@", RoomQueueSize: 5})
	ctx := context.Background()
	owner, room := j("owner@example.com/a"), j("room@conference.example.com")
	m.handle(ctx, owner, nickJID(room, "own"), xmlstream.New(stanza.NSClient, "presence"))
	r, _ := m.room(room, false)
	say := func(body string) {
		msg := xmlstream.New(stanza.NSClient, "message", "type", "groupchat", "id", body)
		msg.Append(xmlstream.New(stanza.NSClient, "body").AppendText(body))
		m.handle(ctx, owner, room, msg)
	}
	value := func(name string) float64 {
		mfs, err := reg.Prometheus().Gather()
		require.NoError(t, err)
		for _, mf := range mfs {
			if mf.GetName() == name {
				return mf.GetMetric()[0].GetGauge().GetValue() + mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatalf("no metric %s", name)
		return 0
	}
	fr.mu.Lock()
	fr.routed = nil
	fr.mu.Unlock()
	r.sendMu.Lock() // another sender is flushing this room
	// One occupant: each message queues the hook event and one copy.
	say("m1")
	say("m2")
	say("m3")
	require.Equal(t, 6.0, value("mod_muc_room_queue_length"))
	say("m4") // the queue holds 6 >= 5: refused
	require.Equal(t, 6.0, value("mod_muc_room_queue_length"), "a refused message queues nothing")
	require.Equal(t, 1.0, value("mod_muc_room_queue_dropped_count"))
	fr.mu.Lock()
	require.Len(t, fr.routed, 1, "only the error was routed")
	require.Contains(t, fr.routed[0], "resource-constraint")
	require.Contains(t, fr.routed[0], `id="m4"`)
	fr.mu.Unlock()
	r.sendMu.Unlock()
	m.flush(ctx, r)
	require.Equal(t, 0.0, value("mod_muc_room_queue_length"))
	fr.mu.Lock()
	defer fr.mu.Unlock()
	require.Len(t, fr.routed, 4, "the error, then the three queued copies")
	for i, body := range []string{"m1", "m2", "m3"} {
		require.Contains(t, fr.routed[i+1], "<body>"+body+"</body>")
	}
}
