package roster

import (
	"fmt"
	"testing"
)

// The nine states of RFC 6121 Appendix A.1, by the names the RFC uses.
var appendixStates = map[string]State{
	"None":                  {Sub: SubNone},
	"None + Pending Out":    {Sub: SubNone, PendingOut: true},
	"None + Pending In":     {Sub: SubNone, PendingIn: true},
	"None + Pending Out+In": {Sub: SubNone, PendingOut: true, PendingIn: true},
	"To":                    {Sub: SubTo},
	"To + Pending In":       {Sub: SubTo, PendingIn: true},
	"From":                  {Sub: SubFrom},
	"From + Pending Out":    {Sub: SubFrom, PendingOut: true},
	"Both":                  {Sub: SubBoth},
}

// appendixRow is one row of an Appendix A table. next is "" for "no state
// change".
type appendixRow struct {
	existing string
	pass     bool // the "Route?" or "Deliver?" column
	next     string
}

// appendixTables transcribes RFC 6121 Appendix A.2 and A.3.
var appendixTables = []struct {
	section string
	dir     Direction
	typ     PresenceType
	rows    []appendixRow
}{
	{"A.2.1", Outbound, PresenceSubscribe, []appendixRow{
		{"None", true, "None + Pending Out"},
		{"None + Pending Out", true, ""},
		{"None + Pending In", true, "None + Pending Out+In"},
		{"None + Pending Out+In", true, ""},
		{"To", true, ""},
		{"To + Pending In", true, ""},
		{"From", true, "From + Pending Out"},
		{"From + Pending Out", true, ""},
		{"Both", true, ""},
	}},
	{"A.2.2", Outbound, PresenceUnsubscribe, []appendixRow{
		{"None", true, ""},
		{"None + Pending Out", true, "None"},
		{"None + Pending In", true, ""},
		{"None + Pending Out+In", true, "None + Pending In"},
		{"To", true, "None"},
		{"To + Pending In", true, "None + Pending In"},
		{"From", true, ""},
		{"From + Pending Out", true, "From"},
		{"Both", true, "From"},
	}},
	{"A.2.3", Outbound, PresenceSubscribed, []appendixRow{
		{"None", false, ""},
		{"None + Pending Out", false, ""},
		{"None + Pending In", true, "From"},
		{"None + Pending Out+In", true, "From + Pending Out"},
		{"To", false, ""},
		{"To + Pending In", true, "Both"},
		{"From", false, ""},
		{"From + Pending Out", false, ""},
		{"Both", false, ""},
	}},
	{"A.2.4", Outbound, PresenceUnsubscribed, []appendixRow{
		{"None", false, ""},
		{"None + Pending Out", false, ""},
		{"None + Pending In", true, "None"},
		{"None + Pending Out+In", true, "None + Pending Out"},
		{"To", false, ""},
		{"To + Pending In", true, "To"},
		{"From", true, "None"},
		{"From + Pending Out", true, "None + Pending Out"},
		{"Both", true, "To"},
	}},
	{"A.3.1", Inbound, PresenceSubscribe, []appendixRow{
		{"None", true, "None + Pending In"},
		{"None + Pending Out", true, "None + Pending Out+In"},
		{"None + Pending In", false, ""},
		{"None + Pending Out+In", false, ""},
		{"To", true, "To + Pending In"},
		{"To + Pending In", false, ""},
		{"From", false, ""},
		{"From + Pending Out", false, ""},
		{"Both", false, ""},
	}},
	{"A.3.2", Inbound, PresenceUnsubscribe, []appendixRow{
		{"None", false, ""},
		{"None + Pending Out", false, ""},
		{"None + Pending In", true, "None"},
		{"None + Pending Out+In", true, "None + Pending Out"},
		{"To", false, ""},
		{"To + Pending In", true, "To"},
		{"From", true, "None"},
		{"From + Pending Out", true, "None + Pending Out"},
		{"Both", true, "To"},
	}},
	{"A.3.3", Inbound, PresenceSubscribed, []appendixRow{
		{"None", false, ""},
		{"None + Pending Out", true, "To"},
		{"None + Pending In", false, ""},
		{"None + Pending Out+In", true, "To + Pending In"},
		{"To", false, ""},
		{"To + Pending In", false, ""},
		{"From", false, ""},
		{"From + Pending Out", true, "Both"},
		{"Both", false, ""},
	}},
	{"A.3.4", Inbound, PresenceUnsubscribed, []appendixRow{
		{"None", false, ""},
		{"None + Pending Out", true, "None"},
		{"None + Pending In", false, ""},
		{"None + Pending Out+In", true, "None + Pending In"},
		{"To", true, "None"},
		{"To + Pending In", true, "None + Pending In"},
		{"From", false, ""},
		{"From + Pending Out", true, "From"},
		{"Both", true, "From"},
	}},
}

func TestTransitionAppendixA(t *testing.T) {
	for _, tab := range appendixTables {
		if len(tab.rows) != len(appendixStates) {
			t.Fatalf("%s has %d rows", tab.section, len(tab.rows))
		}
		for _, r := range tab.rows {
			t.Run(fmt.Sprintf("%s/%s", tab.section, r.existing), func(t *testing.T) {
				s, ok := appendixStates[r.existing]
				if !ok {
					t.Fatalf("unknown state %q", r.existing)
				}
				want := Outcome{Next: s, Deliver: r.pass}
				if r.next != "" {
					want.Next, want.Changed = appendixStates[r.next], true
				}
				// §3.1.3: inbound subscribe from a contact that already has a
				// subscription is answered by the server.
				if tab.dir == Inbound && tab.typ == PresenceSubscribe && s.IsSubscribedFrom() {
					want.AutoReply = PresenceSubscribed
				}
				if got := Transition(s, tab.dir, tab.typ); got != want {
					t.Errorf("Transition(%+v, %v, %s) = %+v, want %+v", s, tab.dir, tab.typ, got, want)
				}
			})
		}
	}
}

func TestTransitionIgnoresOtherTypes(t *testing.T) {
	for _, typ := range []PresenceType{"", "probe", "unavailable", "error", "SUBSCRIBE"} {
		for _, dir := range []Direction{Outbound, Inbound, Direction(7)} {
			for name, s := range appendixStates {
				if got := Transition(s, dir, typ); got != (Outcome{Next: s}) {
					t.Errorf("Transition(%s, %v, %q) = %+v", name, dir, typ, got)
				}
			}
		}
	}
	if got := Transition(State{Sub: SubTo}, Direction(7), PresenceSubscribe); got != (Outcome{Next: State{Sub: SubTo}}) {
		t.Errorf("unknown direction: %+v", got)
	}
}

func TestTransitionNormalises(t *testing.T) {
	tests := []struct {
		name string
		in   State
		dir  Direction
		typ  PresenceType
		want Outcome
	}{
		{"zero value is none", State{}, Inbound, PresenceSubscribe,
			Outcome{Next: State{Sub: SubNone, PendingIn: true}, Changed: true, Deliver: true}},
		{"zero value, nothing to do", State{}, Inbound, PresenceSubscribed,
			Outcome{Next: State{Sub: SubNone}, Changed: true}},
		{"unknown sub is none", State{Sub: "remove", PendingOut: true}, Inbound, PresenceSubscribed,
			Outcome{Next: State{Sub: SubTo}, Changed: true, Deliver: true}},
		{"both with stale flags", State{Sub: SubBoth, PendingOut: true, PendingIn: true}, Inbound, PresenceSubscribe,
			Outcome{Next: State{Sub: SubBoth}, Changed: true, AutoReply: PresenceSubscribed}},
		{"to with stale ask", State{Sub: SubTo, PendingOut: true}, Outbound, PresenceSubscribe,
			Outcome{Next: State{Sub: SubTo}, Changed: true, Deliver: true}},
		{"from with stale pending in", State{Sub: SubFrom, PendingIn: true}, Outbound, PresenceSubscribed,
			Outcome{Next: State{Sub: SubFrom}, Changed: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Transition(tt.in, tt.dir, tt.typ); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestTransitionHandshake runs the usual two-way subscription of RFC 6121
// §3.1 from both sides and checks they agree at each step.
func TestTransitionHandshake(t *testing.T) {
	var user, contact State // user's view of contact, contact's view of user
	step := func(from *State, to *State, typ PresenceType) {
		t.Helper()
		o := Transition(*from, Outbound, typ)
		*from = o.Next
		if !o.Deliver {
			t.Fatalf("%s not routed", typ)
		}
		i := Transition(*to, Inbound, typ)
		*to = i.Next
	}
	step(&user, &contact, PresenceSubscribe)
	if user.Ask() != "subscribe" || !contact.PendingIn {
		t.Fatalf("after subscribe: %+v %+v", user, contact)
	}
	step(&contact, &user, PresenceSubscribed)
	if user != (State{Sub: SubTo}) || contact != (State{Sub: SubFrom}) {
		t.Fatalf("after subscribed: %+v %+v", user, contact)
	}
	if !user.IsSubscribedTo() || user.IsSubscribedFrom() || !contact.IsSubscribedFrom() || contact.IsSubscribedTo() {
		t.Fatal("IsSubscribedTo/From disagree with the states")
	}
	step(&contact, &user, PresenceSubscribe)
	step(&user, &contact, PresenceSubscribed)
	if user != (State{Sub: SubBoth}) || contact != (State{Sub: SubBoth}) {
		t.Fatalf("after mutual subscription: %+v %+v", user, contact)
	}
	step(&user, &contact, PresenceUnsubscribe)
	if user != (State{Sub: SubFrom}) || contact != (State{Sub: SubTo}) {
		t.Fatalf("after unsubscribe: %+v %+v", user, contact)
	}
	step(&user, &contact, PresenceUnsubscribed)
	if user != (State{Sub: SubNone}) || contact != (State{Sub: SubNone}) {
		t.Fatalf("after unsubscribed: %+v %+v", user, contact)
	}
}

func TestStateHelpers(t *testing.T) {
	for name, s := range appendixStates {
		wantTo := s.Sub == SubTo || s.Sub == SubBoth
		wantFrom := s.Sub == SubFrom || s.Sub == SubBoth
		if s.IsSubscribedTo() != wantTo || s.IsSubscribedFrom() != wantFrom {
			t.Errorf("%s: IsSubscribedTo=%v IsSubscribedFrom=%v", name, s.IsSubscribedTo(), s.IsSubscribedFrom())
		}
		wantAsk := ""
		if s.PendingOut {
			wantAsk = "subscribe"
		}
		if s.Ask() != wantAsk {
			t.Errorf("%s: Ask() = %q", name, s.Ask())
		}
	}
	if Outbound.String() != "outbound" || Inbound.String() != "inbound" {
		t.Error("Direction.String")
	}
}
