package cluster

import (
	"github.com/gander-xmpp/gander/internal/jid"
)

// Entry is one session of the cluster as the replicated session table holds
// it (docs/cluster.md, "The session table"). Entries are values: the table
// hands out copies.
type Entry struct {
	// JID is the session's full JID.
	JID jid.JID
	// SID identifies the session in the whole cluster.
	SID string
	// Node and Instance name the owner: the node instance where the
	// session is bound, the only one that changes the entry.
	Node, Instance string
	// BindTime is when the session was bound, in microseconds since the
	// Unix epoch; strictly greater than every other entry of the same full
	// JID that the binding node knew of.
	BindTime int64
	// Available, Priority, Show and Status summarise the session's last
	// broadcast presence.
	Available bool
	Priority  int
	Show      string
	Status    string
	// Carbons tells whether the session enabled Message Carbons (XEP-0280).
	Carbons bool
	// ConnType, IP and Port describe the connection, for session listings.
	ConnType string
	IP       string
	Port     int
}

// newer reports whether e wins over o for the same full JID: the greater
// (bind time, node name, session id) wins (docs/cluster.md, "Resource
// conflicts").
func (e *Entry) newer(o *Entry) bool {
	if e.BindTime != o.BindTime {
		return e.BindTime > o.BindTime
	}
	if e.Node != o.Node {
		return e.Node > o.Node
	}
	return e.SID > o.SID
}

func (e *encoder) entry(x *Entry) {
	e.str(x.JID.String())
	e.str(x.SID)
	e.str(x.Node)
	e.str(x.Instance)
	e.varint(x.BindTime)
	e.bool(x.Available)
	e.varint(int64(x.Priority))
	e.str(x.Show)
	e.str(x.Status)
	e.bool(x.Carbons)
	e.str(x.ConnType)
	e.str(x.IP)
	e.varint(int64(x.Port))
}

// entry decodes an entry; a JID that does not parse as a full JID makes
// the message corrupt.
func (d *decoder) entry() Entry {
	raw := d.str()
	x := Entry{SID: d.str(), Node: d.str(), Instance: d.str(), BindTime: d.varint(),
		Available: d.bool(), Priority: d.int(), Show: d.str(), Status: d.str(), Carbons: d.bool(),
		ConnType: d.str(), IP: d.str(), Port: d.int()}
	if d.err != nil {
		return Entry{}
	}
	j, err := jid.Parse(raw)
	if err != nil || j.IsBare() || j.Local() == "" || x.SID == "" || x.Instance == "" {
		d.fail()
		return Entry{}
	}
	x.JID = j
	return x
}
