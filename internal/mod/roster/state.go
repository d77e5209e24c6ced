package roster

// This file is the presence subscription state machine of RFC 6121 §3 and
// Appendix A, as pure functions: storage, routing and roster pushes are the
// callers' business.

// Subscription is the roster item's subscription attribute.
type Subscription string

// The subscription attribute values of RFC 6121 §2.1.2.5.
const (
	SubNone Subscription = "none"
	SubTo   Subscription = "to"
	SubFrom Subscription = "from"
	SubBoth Subscription = "both"
)

// State is the subscription state of one contact from the user's point of
// view (RFC 6121 §3 and Appendix A.1). PendingOut is the user's request to
// the contact awaiting an answer (ask="subscribe"); PendingIn is the
// contact's request to the user awaiting the user's answer. The zero value,
// like an unknown Sub, is treated as "none".
type State struct {
	Sub        Subscription
	PendingOut bool
	PendingIn  bool
}

// Ask returns the roster item's ask attribute: "subscribe" while the user's
// subscription request is pending, "" otherwise.
func (s State) Ask() string {
	if s.PendingOut {
		return "subscribe"
	}
	return ""
}

// IsSubscribedTo reports whether the user is subscribed to the contact's
// presence, that is, receives it (subscription "to" or "both").
func (s State) IsSubscribedTo() bool { return s.Sub == SubTo || s.Sub == SubBoth }

// IsSubscribedFrom reports whether the contact is subscribed to the user's
// presence, that is, receives it (subscription "from" or "both").
func (s State) IsSubscribedFrom() bool { return s.Sub == SubFrom || s.Sub == SubBoth }

// Direction says whether a subscription stanza is sent by the user
// (Outbound) or received for the user (Inbound).
type Direction int

// The directions of a subscription stanza, seen from the user's server.
const (
	Outbound Direction = iota
	Inbound
)

// String returns "outbound" or "inbound".
func (d Direction) String() string {
	switch d {
	case Outbound:
		return "outbound"
	case Inbound:
		return "inbound"
	default:
		return "Direction(?)"
	}
}

// PresenceType is the type attribute of a subscription-related presence
// stanza.
type PresenceType string

// The presence types that drive the subscription state machine.
const (
	PresenceSubscribe    PresenceType = "subscribe"
	PresenceSubscribed   PresenceType = "subscribed"
	PresenceUnsubscribe  PresenceType = "unsubscribe"
	PresenceUnsubscribed PresenceType = "unsubscribed"
)

// Outcome says what the server does with a subscription stanza.
type Outcome struct {
	// Next is the state after the stanza.
	Next State
	// Changed is true when Next differs from the state passed in: store it
	// and push the roster item to the user's interested resources.
	Changed bool
	// Deliver is true when the stanza goes on: inbound, deliver it to the
	// user; outbound, route it to the contact.
	Deliver bool
	// AutoReply is the presence type the user's server sends to the contact
	// on the user's behalf, or "". It is "subscribed" for an inbound
	// subscribe when the contact is already subscribed (RFC 6121 §3.1.3).
	AutoReply PresenceType
}

// cell is one row of an Appendix A table: the new state (the old one for
// "no state change") and the "Route?" or "Deliver?" column.
type cell struct {
	next State
	pass bool
}

// The nine states of RFC 6121 Appendix A.1, in the order of its tables.
var (
	stNone      = State{Sub: SubNone}
	stNoneOut   = State{Sub: SubNone, PendingOut: true}
	stNoneIn    = State{Sub: SubNone, PendingIn: true}
	stNoneOutIn = State{Sub: SubNone, PendingOut: true, PendingIn: true}
	stTo        = State{Sub: SubTo}
	stToIn      = State{Sub: SubTo, PendingIn: true}
	stFrom      = State{Sub: SubFrom}
	stFromOut   = State{Sub: SubFrom, PendingOut: true}
	stBoth      = State{Sub: SubBoth}
)

// row returns the index of s in the tables below; s must be normalised.
func row(s State) int {
	switch s.Sub {
	case SubTo:
		if s.PendingIn {
			return 5
		}
		return 4
	case SubFrom:
		if s.PendingOut {
			return 7
		}
		return 6
	case SubBoth:
		return 8
	default:
		switch {
		case s.PendingOut && s.PendingIn:
			return 3
		case s.PendingIn:
			return 2
		case s.PendingOut:
			return 1
		}
		return 0
	}
}

// table returns the Appendix A table for dir and t, or nil for a presence
// type that is not about subscriptions. Rows are in the order of row().
func table(dir Direction, t PresenceType) *[9]cell {
	var tab [9]cell
	switch {
	case dir == Outbound && t == PresenceSubscribe:
		// A.2.1: always routed, even without a state change, so the contact's
		// server can resynchronise (§3.1.2).
		tab = [9]cell{
			{stNoneOut, true}, {stNoneOut, true}, {stNoneOutIn, true}, {stNoneOutIn, true},
			{stTo, true}, {stToIn, true}, {stFromOut, true}, {stFromOut, true}, {stBoth, true},
		}
	case dir == Outbound && t == PresenceUnsubscribe:
		// A.2.2: always routed (§3.3.2).
		tab = [9]cell{
			{stNone, true}, {stNone, true}, {stNoneIn, true}, {stNoneIn, true},
			{stNone, true}, {stNoneIn, true}, {stFrom, true}, {stFrom, true}, {stFrom, true},
		}
	case dir == Outbound && t == PresenceSubscribed:
		// A.2.3: only an answer to a pending inbound request changes state
		// and is routed; otherwise it is neither routed nor stored (§3.1.5).
		// We implement no pre-approval (§3.4), so "None" stays "None".
		tab = [9]cell{
			{stNone, false}, {stNoneOut, false}, {stFrom, true}, {stFromOut, true},
			{stTo, false}, {stBoth, true}, {stFrom, false}, {stFromOut, false}, {stBoth, false},
		}
	case dir == Outbound && t == PresenceUnsubscribed:
		// A.2.4: routed only when it denies a pending request or cancels the
		// contact's subscription (§3.2.2).
		tab = [9]cell{
			{stNone, false}, {stNoneOut, false}, {stNone, true}, {stNoneOut, true},
			{stTo, false}, {stTo, true}, {stNone, true}, {stNoneOut, true}, {stTo, true},
		}
	case dir == Inbound && t == PresenceSubscribe:
		// A.3.1: a repeated request is not delivered again (it is already
		// pending and stored), and one from an already subscribed contact is
		// answered by the server itself (§3.1.3, see Transition).
		tab = [9]cell{
			{stNoneIn, true}, {stNoneOutIn, true}, {stNoneIn, false}, {stNoneOutIn, false},
			{stToIn, true}, {stToIn, false}, {stFrom, false}, {stFromOut, false}, {stBoth, false},
		}
	case dir == Inbound && t == PresenceUnsubscribe:
		// A.3.2: delivered only when it cancels something (§3.3.3).
		tab = [9]cell{
			{stNone, false}, {stNoneOut, false}, {stNone, true}, {stNoneOut, true},
			{stTo, false}, {stTo, true}, {stNone, true}, {stNoneOut, true}, {stTo, true},
		}
	case dir == Inbound && t == PresenceSubscribed:
		// A.3.3: without a pending outbound request it is ignored (§3.1.6).
		tab = [9]cell{
			{stNone, false}, {stTo, true}, {stNoneIn, false}, {stToIn, true},
			{stTo, false}, {stToIn, false}, {stFrom, false}, {stBoth, true}, {stBoth, false},
		}
	case dir == Inbound && t == PresenceUnsubscribed:
		// A.3.4: delivered only when it denies a pending request or cancels
		// the user's subscription (§3.2.3).
		tab = [9]cell{
			{stNone, false}, {stNone, true}, {stNoneIn, false}, {stNoneIn, true},
			{stNone, true}, {stNoneIn, true}, {stFrom, false}, {stFrom, true}, {stFrom, true},
		}
	default:
		return nil
	}
	return &tab
}

// normalise maps s onto one of the nine states of Appendix A.1: an unknown
// or empty Sub is "none", and a pending flag that contradicts Sub (a request
// for a subscription that already exists) is dropped.
func normalise(s State) State {
	switch s.Sub {
	case SubTo:
		s.PendingOut = false
	case SubFrom:
		s.PendingIn = false
	case SubBoth:
		s.PendingOut, s.PendingIn = false, false
	default:
		s.Sub = SubNone
	}
	return s
}

// Transition applies one subscription stanza of type t, sent or received as
// dir says, to the state s, following the tables of RFC 6121 Appendix A.2
// (outbound) and A.3 (inbound). A PresenceType that is not one of the four
// subscription types or an unknown Direction leaves s as it is and delivers
// nothing. If s is not one of the nine states of Appendix A.1 it is first
// normalised, and Changed is set so that the repaired state gets stored.
func Transition(s State, dir Direction, t PresenceType) Outcome {
	tab := table(dir, t)
	if tab == nil {
		return Outcome{Next: s}
	}
	c := tab[row(normalise(s))]
	out := Outcome{Next: c.next, Changed: c.next != s, Deliver: c.pass}
	// §3.1.3: if the contact is already subscribed to the user's presence,
	// the user's server MUST auto-reply "subscribed" and MUST NOT deliver.
	if dir == Inbound && t == PresenceSubscribe && c.next.IsSubscribedFrom() {
		out.AutoReply = PresenceSubscribed
	}
	return out
}
