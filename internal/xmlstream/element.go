// Package xmlstream is Gander's restricted XML layer: a streaming decoder
// for XMPP streams (RFC 6120 §11: no DTDs, comments or processing
// instructions, checked nesting, resolved namespaces, a cap on stanza size)
// and a small element tree with a correct serialiser.
package xmlstream

import (
	"bytes"
	"strings"
)

// NSXML is the namespace bound to the "xml" prefix (xml:lang).
const NSXML = "http://www.w3.org/XML/1998/namespace"

// Attr is one attribute. Space is the resolved namespace URI; it is empty
// for ordinary unprefixed attributes.
type Attr struct {
	Space string
	Local string
	Value string
}

// Node is a child of an Element: either *Element or Text.
type Node interface{ isNode() }

// Text is character data inside an element, unescaped.
type Text string

func (Text) isNode()     {}
func (*Element) isNode() {}

// Element is an XML element with its namespace resolved. Elements are not
// safe for concurrent mutation; a routed stanza is treated as immutable once
// handed to the router (copy it with Clone before changing it).
type Element struct {
	Space    string
	Local    string
	Attrs    []Attr
	Children []Node
}

// New returns an element in namespace space with the given attributes given
// as name, value pairs.
func New(space, local string, attrs ...string) *Element {
	e := &Element{Space: space, Local: local}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.SetAttr(attrs[i], attrs[i+1])
	}
	return e
}

// Attr returns the value of the unprefixed attribute local, or "".
func (e *Element) Attr(local string) string {
	for _, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			return a.Value
		}
	}
	return ""
}

// HasAttr reports whether the unprefixed attribute local is present.
func (e *Element) HasAttr(local string) bool {
	for _, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			return true
		}
	}
	return false
}

// SetAttr sets (or, with an empty value, removes) the unprefixed attribute
// local. It returns e for chaining.
func (e *Element) SetAttr(local, value string) *Element {
	for i, a := range e.Attrs {
		if a.Space == "" && a.Local == local {
			if value == "" {
				e.Attrs = append(e.Attrs[:i:i], e.Attrs[i+1:]...)
			} else {
				e.Attrs[i].Value = value
			}
			return e
		}
	}
	if value != "" {
		e.Attrs = append(e.Attrs, Attr{Local: local, Value: value})
	}
	return e
}

// Lang returns the xml:lang attribute, or "".
func (e *Element) Lang() string {
	for _, a := range e.Attrs {
		if a.Space == NSXML && a.Local == "lang" {
			return a.Value
		}
	}
	return ""
}

// Append adds children and returns e.
func (e *Element) Append(children ...Node) *Element {
	e.Children = append(e.Children, children...)
	return e
}

// AppendText adds a text child and returns e.
func (e *Element) AppendText(s string) *Element {
	if s != "" {
		e.Children = append(e.Children, Text(s))
	}
	return e
}

// Elements returns the child elements in document order.
func (e *Element) Elements() []*Element {
	var out []*Element
	for _, c := range e.Children {
		if ce, ok := c.(*Element); ok {
			out = append(out, ce)
		}
	}
	return out
}

// Child returns the first child element with the given namespace and local
// name, or nil. An empty space matches any namespace.
func (e *Element) Child(space, local string) *Element {
	for _, c := range e.Children {
		if ce, ok := c.(*Element); ok && ce.Local == local && (space == "" || ce.Space == space) {
			return ce
		}
	}
	return nil
}

// RemoveChildren removes every child element with the namespace and name.
func (e *Element) RemoveChildren(space, local string) {
	out := e.Children[:0]
	for _, c := range e.Children {
		if ce, ok := c.(*Element); ok && ce.Local == local && ce.Space == space {
			continue
		}
		out = append(out, c)
	}
	e.Children = out
}

// Text returns the concatenated direct text children.
func (e *Element) Text() string {
	var b strings.Builder
	for _, c := range e.Children {
		if t, ok := c.(Text); ok {
			b.WriteString(string(t))
		}
	}
	return b.String()
}

// ChildText returns the text of the first matching child, or "".
func (e *Element) ChildText(space, local string) string {
	if c := e.Child(space, local); c != nil {
		return c.Text()
	}
	return ""
}

// WithAttr returns a shallow copy of e with attribute local set to value:
// the attributes are copied, the children shared (a routed stanza is not
// modified, so its copies may share them; appending to the copy does not
// touch e's children).
func (e *Element) WithAttr(local, value string) *Element {
	c := &Element{Space: e.Space, Local: e.Local, Attrs: append([]Attr(nil), e.Attrs...), Children: e.Children[:len(e.Children):len(e.Children)]}
	return c.SetAttr(local, value)
}

// Clone returns a deep copy of e.
func (e *Element) Clone() *Element {
	if e == nil {
		return nil
	}
	c := &Element{Space: e.Space, Local: e.Local}
	if e.Attrs != nil {
		c.Attrs = append([]Attr(nil), e.Attrs...)
	}
	if e.Children != nil {
		c.Children = make([]Node, len(e.Children))
		for i, ch := range e.Children {
			if ce, ok := ch.(*Element); ok {
				c.Children[i] = ce.Clone()
			} else {
				c.Children[i] = ch
			}
		}
	}
	return c
}

// String serialises e as a standalone document fragment (its namespace
// declared).
func (e *Element) String() string {
	var b bytes.Buffer
	e.WriteTo(&b, "")
	return b.String()
}

// Bytes serialises e with the given default namespace in scope: an element
// whose namespace equals parentNS gets no xmlns attribute. Stanzas written
// inside a jabber:client stream use parentNS "jabber:client".
func (e *Element) Bytes(parentNS string) []byte {
	var b bytes.Buffer
	e.WriteTo(&b, parentNS)
	return b.Bytes()
}
