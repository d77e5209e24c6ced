package xmlstream

import (
	"bytes"
	"strconv"
	"unicode/utf8"
)

// WriteTo appends the serialisation of e to b, with parentNS the default
// namespace already in scope.
func (e *Element) WriteTo(b *bytes.Buffer, parentNS string) {
	w := writer{b: b}
	w.element(e, parentNS, nil)
}

type writer struct {
	b *bytes.Buffer
}

// prefixes maps namespace URIs to prefixes declared by ancestors for
// namespaced attributes (rare: anything but xml:lang).
type prefixes map[string]string

func (w *writer) element(e *Element, parentNS string, inScope prefixes) {
	b := w.b
	b.WriteByte('<')
	b.WriteString(e.Local)
	if e.Space != parentNS {
		b.WriteString(` xmlns="`)
		escapeAttr(b, e.Space)
		b.WriteByte('"')
	}
	var declared prefixes
	for _, a := range e.Attrs {
		b.WriteByte(' ')
		switch a.Space {
		case "":
		case NSXML:
			b.WriteString("xml:")
		default:
			p, ok := inScope[a.Space]
			if !ok {
				p, ok = declared[a.Space]
			}
			if !ok {
				if declared == nil {
					declared = prefixes{}
				}
				p = "ns" + strconv.Itoa(len(inScope)+len(declared)+1)
				declared[a.Space] = p
				b.WriteString("xmlns:" + p + `="`)
				escapeAttr(b, a.Space)
				b.WriteString(`" `)
			}
			b.WriteString(p + ":")
		}
		b.WriteString(a.Local)
		b.WriteString(`="`)
		escapeAttr(b, a.Value)
		b.WriteByte('"')
	}
	if len(e.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	scope := inScope
	if declared != nil {
		scope = make(prefixes, len(inScope)+len(declared))
		for k, v := range inScope {
			scope[k] = v
		}
		for k, v := range declared {
			scope[k] = v
		}
	}
	for _, c := range e.Children {
		switch c := c.(type) {
		case *Element:
			w.element(c, e.Space, scope)
		case Text:
			escapeText(b, string(c))
		}
	}
	b.WriteString("</")
	b.WriteString(e.Local)
	b.WriteByte('>')
}

// escapeText escapes character data; characters not allowed in XML 1.0 are
// replaced by U+FFFD so the output is always well-formed.
func escapeText(b *bytes.Buffer, s string) { escape(b, s, false) }

func escapeAttr(b *bytes.Buffer, s string) { escape(b, s, true) }

func escape(b *bytes.Buffer, s string, attr bool) {
	// Runs of characters that need no escaping are copied in one write;
	// printable ASCII, the common case, is checked a byte at a time.
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		var rep string
		size := 1
		switch {
		case c == '<':
			rep = "&lt;"
		case c == '>':
			rep = "&gt;"
		case c == '&':
			rep = "&amp;"
		case c == '"' && attr:
			rep = "&quot;"
		case c == '\'' && attr:
			rep = "&apos;"
		case c == '\n' && attr:
			rep = "&#xA;"
		case c == '\r':
			rep = "&#xD;"
		case c == '\t' && attr:
			rep = "&#x9;"
		case c >= 0x20 && c < utf8.RuneSelf, c == '\n', c == '\t':
			i++
			continue
		case c < utf8.RuneSelf:
			rep = "\uFFFD" // a control character not allowed in XML 1.0
		default:
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
				rep = "\uFFFD"
			} else {
				i += size
				continue
			}
		}
		b.WriteString(s[start:i])
		b.WriteString(rep)
		i += size
		start = i
	}
	b.WriteString(s[start:])
}

func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// EscapeAttr returns s escaped for use inside a double-quoted attribute.
func EscapeAttr(s string) string {
	var b bytes.Buffer
	escapeAttr(&b, s)
	return b.String()
}

// BytesPrefixed serialises e with the given prefix, already bound to e's
// namespace by an ancestor (the stream root binds "stream"), e.g.
// <stream:features>. Children declare their own namespaces.
func (e *Element) BytesPrefixed(prefix string) []byte {
	var b bytes.Buffer
	w := writer{b: &b}
	inner := &Element{Space: e.Space, Local: prefix + ":" + e.Local, Attrs: e.Attrs, Children: e.Children}
	w.element(inner, e.Space, nil)
	return b.Bytes()
}
