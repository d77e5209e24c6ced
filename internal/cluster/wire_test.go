package cluster

import (
	"bytes"
	"testing"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

func sampleStanza() *xmlstream.Element {
	body := xmlstream.New("jabber:client", "body").AppendText("hi <there> & ünïcödé")
	x := xmlstream.New("urn:x", "x", "a", "1")
	x.Attrs = append(x.Attrs, xmlstream.Attr{Space: xmlstream.NSXML, Local: "lang", Value: "en"})
	x.Append(xmlstream.New("urn:x", "y"))
	return xmlstream.New("jabber:client", "message", "from", "a@localhost/r", "to", "b@localhost", "id", "m1", "type", "chat").
		Append(body, x, xmlstream.Text(" "))
}

func TestElementRoundTrip(t *testing.T) {
	el := sampleStanza()
	e := newEncoder(kindForward, "n1", "i1", 0)
	e.element(el)
	h, d, err := decodeHeader(e.b)
	if err != nil || h.Kind != kindForward || h.Node != "n1" || h.Instance != "i1" {
		t.Fatalf("header %+v %v", h, err)
	}
	got := d.element(0)
	if err := d.end(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes("jabber:client"), el.Bytes("jabber:client")) {
		t.Errorf("got %s\nwant %s", got, el)
	}
}

func TestEntryRoundTrip(t *testing.T) {
	x := Entry{JID: jid.MustParse("alice@localhost/res"), SID: "s", Node: "n", Instance: "i", BindTime: 1234567,
		Available: true, Priority: -5, Show: "dnd", Status: "busy", Carbons: true, ConnType: "c2s_tls", IP: "::1", Port: 5222}
	e := &encoder{}
	e.entry(&x)
	d := &decoder{b: e.b}
	if got := d.entry(); got != x || d.end() != nil {
		t.Errorf("got %+v (%v)", got, d.err)
	}
	// A bare JID is not a session.
	y := x
	y.JID = jid.MustParse("alice@localhost")
	e = &encoder{}
	e.entry(&y)
	d = &decoder{b: e.b}
	if d.entry(); d.err == nil {
		t.Error("an entry with a bare JID decoded")
	}
}

func TestDecodeRejects(t *testing.T) {
	deep := &xmlstream.Element{Local: "a"}
	cur := deep
	for i := 0; i < maxElementDepth+5; i++ {
		c := &xmlstream.Element{Local: "a"}
		cur.Children = []xmlstream.Node{c}
		cur = c
	}
	e := newEncoder(kindForward, "n", "i", 0)
	e.element(deep)
	_, d, _ := decodeHeader(e.b)
	if d.element(0); d.err == nil {
		t.Error("an element nested too deep decoded")
	}
	for _, msg := range [][]byte{nil, {wireVersion}, {9, 1, 1, 'n', 0}, {wireVersion, 1, 0, 0},
		{wireVersion, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}} {
		if _, _, err := decodeHeader(msg); err == nil {
			t.Errorf("%v decoded", msg)
		}
	}
	// A count larger than the message is refused before allocating.
	d = &decoder{b: []byte{0xff, 0xff, 0xff, 0xff, 0x0f}}
	if d.count(1); d.err == nil {
		t.Error("huge count accepted")
	}
}

// FuzzDecode feeds arbitrary bytes to every decoder the network reaches.
func FuzzDecode(f *testing.F) {
	e := newEncoder(kindForward, "n1", "i1", 0)
	e.element(sampleStanza())
	f.Add(e.b)
	x := Entry{JID: jid.MustParse("alice@localhost/res"), SID: "s", Node: "n", Instance: "i", BindTime: 1}
	p := newEncoder(kindPut, "n", "i", 0)
	p.uvarint(3)
	p.entry(&x)
	f.Add(p.b)
	hb := newEncoder(kindHeartbeat, "n", "i", 0)
	hb.varint(1)
	hb.str("127.0.0.1:6222")
	hb.uvarint(3)
	hb.uvarint(1)
	hb.uvarint(1)
	hb.str("other")
	f.Add(hb.b)
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, d, err := decodeHeader(msg)
		if err != nil {
			return
		}
		rest := d.b
		(&decoder{b: rest}).element(0)
		(&decoder{b: rest}).entry()
		hd := &decoder{b: rest}
		hd.varint()
		hd.str()
		hd.uvarint()
		hd.uvarint()
		for k := hd.count(1); k > 0; k-- {
			hd.str()
		}
		_ = hd.end()
	})
}
