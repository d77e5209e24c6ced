package inbox

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/stanza"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// TestRoomLogMatchesPerEntryWrites puts random sequences of room messages
// and member writes (resets, removals, affiliation-change messages, member
// list changes) two ways: on one room log, and each write on its entry's
// own key as the synchronous order would apply them. Expanded, the log must
// give every entry exactly the pending write of the per-entry way, in the
// same order of entries.
func TestRoomLogMatchesPerEntryWrites(t *testing.T) {
	const room = "room@muclight.localhost"
	var users []jid.JID
	for _, n := range []string{"alice", "bob", "kate", "mike", "zoe"} {
		users = append(users, jid.MustParse(n+"@localhost"))
	}
	rng := rand.New(rand.NewPCG(6, 14))
	for iter := range 3000 {
		var log task
		per := map[taskKey]task{}
		var order []taskKey
		putEntry := func(k taskKey, w task) {
			old, ok := per[k]
			if !ok {
				per[k] = w
				order = append(order, k)
				return
			}
			nw, err := aggregate(old, w)
			require.NoError(t, err)
			per[k] = nw
		}
		putLog := func(w task) {
			if log.log == nil {
				log = w
				return
			}
			var err error
			log, err = merge(log, w)
			require.NoError(t, err)
		}
		members := users[:2+rng.IntN(3)]
		steps := 1 + rng.IntN(40)
		for ts := int64(1); ts <= int64(steps); ts++ {
			u := members[rng.IntN(len(members))]
			k := taskKey{owner(u), room}
			switch r := rng.IntN(20); {
			case r < 12: // a room message from u
				el := xmlstream.New(stanza.NSClient, "message", "id", fmt.Sprint("m", ts), "type", "groupchat")
				putLog(newRun(members, el, u, ts))
				for _, m := range members {
					w := task{kind: kInc, count: 1, msgID: fmt.Sprint("m", ts), msg: withTo(el, m.String()), ts: ts, box: "inbox", notify: m}
					if m == u {
						w.kind, w.count = kSet, 0
					}
					putEntry(taskKey{owner(m), room}, w)
				}
			case r < 14: // a marker reset, for a recent message or not
				id := fmt.Sprint("m", ts-int64(rng.IntN(3)))
				w := task{kind: kReset, resetMsg: &id, ts: ts}
				putLog(newMemberSeg(k.Owner, w))
				putEntry(k, w)
			case r < 15: // the reset IQ
				w := task{kind: kReset, ts: ts}
				putLog(newMemberSeg(k.Owner, w))
				putEntry(k, w)
			case r < 16: // a kick or the room's destruction
				w := task{kind: kRemove}
				putLog(newMemberSeg(k.Owner, w))
				putEntry(k, w)
			case r < 18: // an affiliation-change message
				el := xmlstream.New(stanza.NSClient, "message", "id", fmt.Sprint("a", ts))
				w := task{kind: kInc, count: 1, msgID: fmt.Sprint("a", ts), msg: el, ts: ts, box: "inbox", notify: u}
				putLog(newMemberSeg(k.Owner, w))
				putEntry(k, w)
			default: // the member list changes
				members = append([]jid.JID(nil), users[:2+rng.IntN(4)]...)
			}
		}
		if log.log == nil {
			continue
		}
		w := newEntryWrites(0)
		require.Empty(t, log.log.expand(room, w))
		gotOrder, got := w.order, w.byKey
		require.Equal(t, order, gotOrder, "iteration %d: entries in order of first write", iter)
		require.Len(t, got, len(per))
		for _, k := range order {
			require.Equal(t, stored(per[k]), stored(got[k]), "iteration %d, entry of %s", iter, k.Owner.LUser)
		}
	}
}

// TestRoomLogRuns: consecutive messages to the same members make one run
// whatever their number; a member write or a new member list starts a new
// segment.
func TestRoomLogRuns(t *testing.T) {
	a, b := jid.MustParse("a@localhost"), jid.MustParse("b@localhost")
	members := []jid.JID{a, b}
	msg := func(id string) *xmlstream.Element { return xmlstream.New(stanza.NSClient, "message", "id", id) }
	log := newRun(members, msg("1"), a, 1)
	for i := 2; i <= 100; i++ {
		var err error
		log, err = merge(log, newRun(members, msg(fmt.Sprint(i)), b, int64(i)))
		require.NoError(t, err)
	}
	require.Len(t, log.log.segs, 1)
	require.Equal(t, 100, log.log.segs[0].n)
	log, _ = merge(log, newMemberSeg(owner(a), task{kind: kReset, ts: 101}))
	log, _ = merge(log, newRun(members, msg("102"), a, 102))
	log, _ = merge(log, newRun([]jid.JID{a}, msg("103"), a, 103))
	require.Len(t, log.log.segs, 4)

	w := newEntryWrites(0)
	require.Empty(t, log.log.expand("r@muclight.localhost", w))
	got := w.byKey
	ka, kb := taskKey{owner(a), "r@muclight.localhost"}, taskKey{owner(b), "r@muclight.localhost"}
	require.Equal(t, kSet, got[ka].kind)
	require.Equal(t, 0, got[ka].count, "a's own newest message")
	require.Equal(t, "103", got[ka].msgID)
	require.Contains(t, got[ka].content(), `to="a@localhost"`, "the stored copy is a's")
	require.Equal(t, kSet, got[kb].kind, "b's own message 100, then a's 102")
	require.Equal(t, 1, got[kb].count)
	require.Equal(t, "102", got[kb].msgID, "b was not a member for 103")

	_, err := merge(log, set(0, "x", 1))
	require.Error(t, err, "a room log and an entry write do not merge")
}

// storedTask is a task with its message as the stored bytes.
type storedTask struct {
	t       task
	content string
}

func stored(t task) storedTask {
	c := t.content()
	t.msg, t.to = nil, ""
	return storedTask{t, c}
}

// TestStoredCopies: a copy spliced from the room message's template is
// byte for byte the serialisation of the message with that to, including
// addresses that need escaping; a message that quotes the placeholder is
// serialised copy by copy.
func TestStoredCopies(t *testing.T) {
	body := xmlstream.New(stanza.NSClient, "body")
	body.Children = append(body.Children, xmlstream.Text(`fish & "chips" <now>`))
	el := xmlstream.New(stanza.NSClient, "message", "id", "m1", "type", "groupchat", "from", "room@muclight.localhost/alice")
	el.Children = append(el.Children, body)
	quoting := xmlstream.New(stanza.NSClient, "message", "id", "m2", "type", "groupchat")
	qb := xmlstream.New(stanza.NSClient, "body")
	qb.Children = append(qb.Children, xmlstream.Text("see "+toPlaceholder))
	quoting.Children = append(quoting.Children, qb)
	c := storedCopies{}
	for _, m := range []*xmlstream.Element{el, quoting} {
		for _, to := range []string{"bob@localhost", `o'brien&co@localhost`, `"quoted"@localhost`} {
			tk := task{kind: kInc, count: 1, msg: m, to: to}
			require.Equal(t, m.WithAttr("to", to).String(), c.content(tk), "copy of %s for %s", m.Attr("id"), to)
		}
	}
	require.True(t, c[el].ok, "the plain message was templated")
	require.False(t, c[quoting].ok, "the quoting one was not")
	require.Equal(t, el.String(), c.content(task{kind: kInc, msg: el}), "a task without to stores its message as it is")
}
