package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The envelope is a compact binary encoding (docs/cluster.md, "Transport"):
// every message starts with the format version, its kind, and the sending
// node's name and instance id; the rest depends on the kind. Strings and
// byte strings are a uvarint length followed by the bytes; integers are
// varints. A decoder never trusts a length: each one is checked against the
// bytes that remain, so a corrupt or hostile message costs an error, never a
// panic or a large allocation.

// wireVersion is the envelope format version. A message of another version
// is dropped (and counted): all nodes of a cluster run the same Gander.
const wireVersion = 1

// kind is the type of an envelope.
type kind byte

const (
	kindHeartbeat kind = 1  // state subject: liveness and table summary
	kindPut       kind = 2  // state subject: a session entry inserted or changed
	kindDel       kind = 3  // state subject: a session entry deleted
	kindBye       kind = 4  // state subject: departure announcement
	kindCleaned   kind = 5  // state subject: the cleaner finished a dead node's cleanup
	kindSnapReq   kind = 10 // control: send me your own entries
	kindSnapChunk kind = 11 // reply: a part of a snapshot
	kindPing      kind = 12 // control: round-trip measurement
	kindPong      kind = 13 // reply to kindPing
	kindWhoAmI    kind = 14 // control: is a live instance using this name?
	kindIAm       kind = 15 // reply to kindWhoAmI
	kindForward   kind = 20 // forward subject: a stanza for a local session
)

// maxElementDepth bounds the nesting of an encoded element, so decoding
// cannot exhaust the stack.
const maxElementDepth = 256

// errCorrupt is returned for a message that does not decode.
var errCorrupt = errors.New("cluster: corrupt message")

// header is the common part of every envelope.
type header struct {
	Kind     kind
	Node     string
	Instance string
}

// encoder appends to a byte slice.
type encoder struct{ b []byte }

func newEncoder(k kind, node, instance string, sizeHint int) *encoder {
	e := &encoder{b: make([]byte, 0, 32+len(node)+len(instance)+sizeHint)}
	e.b = append(e.b, wireVersion, byte(k))
	e.str(node)
	e.str(instance)
	return e
}

func (e *encoder) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

// element appends el as: space, local, attribute count, attributes (space,
// local, value), child count, children (0 + text, or 1 + element).
func (e *encoder) element(el *xmlstream.Element) {
	e.str(el.Space)
	e.str(el.Local)
	e.uvarint(uint64(len(el.Attrs)))
	for _, a := range el.Attrs {
		e.str(a.Space)
		e.str(a.Local)
		e.str(a.Value)
	}
	e.uvarint(uint64(len(el.Children)))
	for _, c := range el.Children {
		switch n := c.(type) {
		case xmlstream.Text:
			e.b = append(e.b, 0)
			e.str(string(n))
		case *xmlstream.Element:
			e.b = append(e.b, 1)
			e.element(n)
		}
	}
}

// decoder reads from a byte slice; the first problem sticks in err and
// every later read returns zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a number of items each taking at least min bytes, refusing
// counts the remaining bytes cannot hold.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) str() string { return string(d.raw()) }

func (d *decoder) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) bool() bool {
	switch d.byte1() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

func (d *decoder) int() int {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail()
		return 0
	}
	return int(v)
}

func (d *decoder) element(depth int) *xmlstream.Element {
	if depth > maxElementDepth {
		d.fail()
		return nil
	}
	el := &xmlstream.Element{Space: d.str(), Local: d.str()}
	if n := d.count(3); n > 0 {
		el.Attrs = make([]xmlstream.Attr, n)
		for i := range el.Attrs {
			el.Attrs[i] = xmlstream.Attr{Space: d.str(), Local: d.str(), Value: d.str()}
		}
	}
	if n := d.count(2); n > 0 {
		el.Children = make([]xmlstream.Node, 0, n)
		for i := 0; i < n && d.err == nil; i++ {
			switch d.byte1() {
			case 0:
				el.Children = append(el.Children, xmlstream.Text(d.str()))
			case 1:
				if c := d.element(depth + 1); c != nil {
					el.Children = append(el.Children, c)
				}
			default:
				d.fail()
			}
		}
	}
	if d.err != nil {
		return nil
	}
	if el.Local == "" {
		d.fail()
		return nil
	}
	return el
}

// decodeHeader checks the version and reads the common header; the
// returned decoder is positioned at the kind-specific part.
func decodeHeader(msg []byte) (header, *decoder, error) {
	if len(msg) < 2 {
		return header{}, nil, errCorrupt
	}
	if msg[0] != wireVersion {
		return header{}, nil, fmt.Errorf("cluster: envelope version %d, want %d", msg[0], wireVersion)
	}
	d := &decoder{b: msg[2:]}
	h := header{Kind: kind(msg[1]), Node: d.str(), Instance: d.str()}
	if d.err != nil || h.Node == "" {
		return header{}, nil, errCorrupt
	}
	return h, d, nil
}

// end reports the decoder's error, or errCorrupt when bytes are left over.
func (d *decoder) end() error {
	if d.err != nil {
		return d.err
	}
	if len(d.b) != 0 {
		return errCorrupt
	}
	return nil
}
