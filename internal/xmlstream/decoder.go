package xmlstream

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Header is the opening <stream:stream> tag of an XMPP stream.
type Header struct {
	// Space and Local name the root element (normally the streams namespace
	// and "stream").
	Space, Local string
	// DefaultNS is the default namespace declared on the root (jabber:client).
	DefaultNS string
	// To, From, Version, ID and Lang are the root's attributes.
	To, From, Version, ID, Lang string
}

// Decoder reads an XMPP stream: first the header, then one top-level
// element at a time. It is not safe for concurrent use.
type Decoder struct {
	cr        *countingReader
	xd        *xml.Decoder
	max       int64
	scopes    []map[string]string // prefix -> namespace, innermost last
	rootLocal string
	rootSpace string
	started   bool
}

// NewDecoder returns a decoder over r. maxStanza caps the bytes of one
// top-level element (0 means no cap); the cap is enforced while reading, so
// a flood of bytes never accumulates past it.
func NewDecoder(r io.Reader, maxStanza int) *Decoder {
	cr := &countingReader{r: bufio.NewReaderSize(r, 4096), max: int64(maxStanza)}
	xd := xml.NewDecoder(cr)
	xd.Strict = true
	return &Decoder{cr: cr, xd: xd, max: int64(maxStanza)}
}

// countingReader counts consumed bytes so the decoder can cap one stanza
// before encoding/xml buffers it whole.
type countingReader struct {
	r     *bufio.Reader
	n     int64
	start int64
	max   int64
}

func (c *countingReader) ReadByte() (byte, error) {
	if c.max > 0 && c.n-c.start > c.max {
		return 0, ErrStanzaTooBig
	}
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

func (c *countingReader) Read(p []byte) (int, error) {
	// encoding/xml uses ReadByte when available; Read is only for io.Reader.
	if len(p) == 0 {
		return 0, nil
	}
	b, err := c.ReadByte()
	if err != nil {
		return 0, err
	}
	p[0] = b
	return 1, nil
}

// resetBudget starts a new stanza budget at the current position.
func (c *countingReader) resetBudget() { c.start = c.n }

// Header reads up to and including the stream's root start tag. Only an XML
// declaration may precede it.
func (d *Decoder) Header() (Header, error) {
	d.cr.resetBudget()
	for {
		tok, err := d.token()
		if err != nil {
			return Header{}, err
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || d.started {
				return Header{}, fmt.Errorf("%w: processing instruction", ErrRestricted)
			}
			d.started = true
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return Header{}, fmt.Errorf("%w: text before stream header", ErrNotWellFormed)
			}
			d.started = true
		case xml.StartElement:
			d.started = true
			scope, attrs, err := d.push(t)
			if err != nil {
				return Header{}, err
			}
			sp, err := d.resolve(t.Name.Space, true)
			if err != nil {
				return Header{}, err
			}
			h := Header{Space: sp, Local: t.Name.Local, DefaultNS: scope[""]}
			for _, a := range attrs {
				switch {
				case a.Space == "" && a.Local == "to":
					h.To = a.Value
				case a.Space == "" && a.Local == "from":
					h.From = a.Value
				case a.Space == "" && a.Local == "version":
					h.Version = a.Value
				case a.Space == "" && a.Local == "id":
					h.ID = a.Value
				case a.Space == NSXML && a.Local == "lang":
					h.Lang = a.Value
				}
			}
			d.rootLocal, d.rootSpace = t.Name.Local, t.Name.Space
			return h, nil
		default:
			return Header{}, restrictedErr(tok)
		}
	}
}

// Next returns the next top-level element of the stream. Whitespace
// between elements (keepalives) is skipped. It returns ErrStreamClosed when
// the peer closes the stream, and wrapped ErrNotWellFormed, ErrRestricted,
// ErrStanzaTooBig, ErrUnboundPrefix or an I/O error otherwise; after an
// error the decoder must not be used again.
func (d *Decoder) Next() (*Element, error) {
	if len(d.scopes) != 1 {
		return nil, errors.New("xmlstream: Next before Header")
	}
	for {
		d.cr.resetBudget()
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if strings.TrimSpace(string(t)) != "" {
				return nil, fmt.Errorf("%w: text at stream level", ErrNotWellFormed)
			}
		case xml.EndElement:
			if t.Name.Local != d.rootLocal || t.Name.Space != d.rootSpace {
				return nil, fmt.Errorf("%w: mismatched end tag %s", ErrNotWellFormed, t.Name.Local)
			}
			d.scopes = d.scopes[:0]
			return nil, ErrStreamClosed
		case xml.StartElement:
			return d.element(t)
		default:
			return nil, restrictedErr(tok)
		}
	}
}

func (d *Decoder) element(start xml.StartElement) (*Element, error) {
	root, err := d.open(start)
	if err != nil {
		return nil, err
	}
	stack := []*Element{root}
	names := []xml.Name{start.Name}
	for len(stack) > 0 {
		tok, err := d.token()
		if err != nil {
			return nil, err
		}
		top := stack[len(stack)-1]
		switch t := tok.(type) {
		case xml.StartElement:
			el, err := d.open(t)
			if err != nil {
				return nil, err
			}
			top.Children = append(top.Children, el)
			stack = append(stack, el)
			names = append(names, t.Name)
		case xml.EndElement:
			if t.Name != names[len(names)-1] {
				return nil, fmt.Errorf("%w: end tag </%s> does not match <%s>", ErrNotWellFormed, qname(t.Name), qname(names[len(names)-1]))
			}
			stack = stack[:len(stack)-1]
			names = names[:len(names)-1]
			d.scopes = d.scopes[:len(d.scopes)-1]
		case xml.CharData:
			if n := len(top.Children); n > 0 {
				if prev, ok := top.Children[n-1].(Text); ok {
					top.Children[n-1] = prev + Text(t)
					continue
				}
			}
			top.Children = append(top.Children, Text(string(t)))
		default:
			return nil, restrictedErr(tok)
		}
	}
	return root, nil
}

func qname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// open pushes the namespace scope of a start tag and builds its element.
func (d *Decoder) open(t xml.StartElement) (*Element, error) {
	_, attrs, err := d.push(t)
	if err != nil {
		return nil, err
	}
	sp, err := d.resolve(t.Name.Space, true)
	if err != nil {
		return nil, err
	}
	return &Element{Space: sp, Local: t.Name.Local, Attrs: attrs}, nil
}

// push records the namespace declarations of t and returns the new scope
// and the resolved non-declaration attributes.
func (d *Decoder) push(t xml.StartElement) (map[string]string, []Attr, error) {
	var parent map[string]string
	if len(d.scopes) > 0 {
		parent = d.scopes[len(d.scopes)-1]
	}
	scope := parent
	copied := false
	for _, a := range t.Attr {
		var prefix string
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			prefix = ""
		case a.Name.Space == "xmlns":
			prefix = a.Name.Local
			if a.Value == "" {
				return nil, nil, fmt.Errorf("%w: empty namespace for prefix %s", ErrNotWellFormed, prefix)
			}
		default:
			continue
		}
		if !copied {
			scope = make(map[string]string, len(parent)+1)
			for k, v := range parent {
				scope[k] = v
			}
			copied = true
		}
		scope[prefix] = a.Value
	}
	if scope == nil {
		scope = map[string]string{}
	}
	d.scopes = append(d.scopes, scope)
	var attrs []Attr
	for _, a := range t.Attr {
		if (a.Name.Space == "" && a.Name.Local == "xmlns") || a.Name.Space == "xmlns" {
			continue
		}
		sp := ""
		if a.Name.Space != "" {
			var err error
			if sp, err = d.resolve(a.Name.Space, false); err != nil {
				return nil, nil, err
			}
		}
		for _, prev := range attrs {
			if prev.Space == sp && prev.Local == a.Name.Local {
				return nil, nil, fmt.Errorf("%w: duplicate attribute %s", ErrNotWellFormed, a.Name.Local)
			}
		}
		attrs = append(attrs, Attr{Space: sp, Local: a.Name.Local, Value: a.Value})
	}
	return scope, attrs, nil
}

// resolve maps a prefix to its namespace in the innermost scope. For
// element names the empty prefix means the default namespace.
func (d *Decoder) resolve(prefix string, element bool) (string, error) {
	if prefix == "xml" {
		return NSXML, nil
	}
	scope := d.scopes[len(d.scopes)-1]
	if prefix == "" {
		if element {
			return scope[""], nil
		}
		return "", nil
	}
	ns, ok := scope[prefix]
	if !ok {
		return "", fmt.Errorf("%w: %s", ErrUnboundPrefix, prefix)
	}
	return ns, nil
}

func (d *Decoder) token() (xml.Token, error) {
	tok, err := d.xd.RawToken()
	if err != nil {
		switch {
		case errors.Is(err, ErrStanzaTooBig):
			return nil, ErrStanzaTooBig
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, io.EOF
		}
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			if strings.Contains(se.Msg, "unexpected EOF") {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("%w: %s", ErrNotWellFormed, se.Msg)
		}
		return nil, err
	}
	return tok, nil
}

func restrictedErr(tok xml.Token) error {
	switch tok.(type) {
	case xml.Comment:
		return fmt.Errorf("%w: comment", ErrRestricted)
	case xml.ProcInst:
		return fmt.Errorf("%w: processing instruction", ErrRestricted)
	case xml.Directive:
		return fmt.Errorf("%w: DTD or directive", ErrRestricted)
	}
	return fmt.Errorf("%w: unexpected token %T", ErrNotWellFormed, tok)
}
