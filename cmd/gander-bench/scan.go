package main

import (
	"bytes"
	"errors"
	"io"
	"strings"
)

// A stream event returned by elemReader.next.
const (
	evHeader = iota // the opening <stream:stream> tag
	evElem          // one complete top-level element
	evEnd           // </stream:stream>
)

// errElemTooBig is returned when one top-level element exceeds maxElem.
var errElemTooBig = errors.New("element larger than 1 MiB")

const maxElem = 1 << 20

// elemReader splits an XMPP stream into its header and top-level elements
// without building a tree: it only tracks tag boundaries, quotes and depth.
// That keeps the generator's CPU per stanza far below a full XML decoder's.
// It does not understand comments or CDATA sections containing '>' (XMPP
// servers send neither to clients). Not safe for concurrent use; a returned
// slice is valid until the next call.
type elemReader struct {
	r         io.Reader
	buf       []byte
	end       int // valid data is buf[:end]
	pos       int // scan position
	depth     int
	quote     byte
	inTag     bool
	tagStart  int
	elemStart int
}

func newElemReader(r io.Reader) *elemReader {
	return &elemReader{r: r, buf: make([]byte, 2048)}
}

// next returns the next stream event and, for evHeader and evElem, the raw
// bytes of the tag or element.
func (p *elemReader) next() (int, []byte, error) {
	for {
		for p.pos < p.end {
			c := p.buf[p.pos]
			p.pos++
			if !p.inTag {
				if c == '<' {
					p.inTag = true
					p.tagStart = p.pos - 1
				}
				continue
			}
			if p.quote != 0 {
				if c == p.quote {
					p.quote = 0
				}
				continue
			}
			if c == '"' || c == '\'' {
				p.quote = c
				continue
			}
			if c != '>' {
				continue
			}
			p.inTag = false
			tag := p.buf[p.tagStart:p.pos]
			switch {
			case len(tag) < 3 || tag[1] == '?' || tag[1] == '!':
				// XML declaration, processing instruction or comment.
			case tag[1] == '/':
				p.depth--
				switch p.depth {
				case 0:
					return evEnd, nil, nil
				case 1:
					return evElem, p.buf[p.elemStart:p.pos], nil
				}
			case tag[len(tag)-2] == '/':
				if p.depth == 1 {
					return evElem, tag, nil
				}
			default:
				p.depth++
				switch p.depth {
				case 1:
					return evHeader, tag, nil
				case 2:
					p.elemStart = p.tagStart
				}
			}
		}
		if err := p.fill(); err != nil {
			return 0, nil, err
		}
	}
}

// fill drops consumed bytes and reads more.
func (p *elemReader) fill() error {
	keep := p.pos
	if p.depth >= 2 {
		keep = p.elemStart
	} else if p.inTag {
		keep = p.tagStart
	}
	if keep > 0 {
		copy(p.buf, p.buf[keep:p.end])
		p.end -= keep
		p.pos -= keep
		p.tagStart -= keep
		p.elemStart -= keep
	}
	if p.end == len(p.buf) {
		if len(p.buf) >= maxElem {
			return errElemTooBig
		}
		nb := make([]byte, 2*len(p.buf))
		copy(nb, p.buf[:p.end])
		p.buf = nb
	}
	n, err := p.r.Read(p.buf[p.end:])
	p.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// rootTag returns the opening tag of el (up to and including its '>').
func rootTag(el []byte) []byte {
	var q byte
	for i, c := range el {
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '>':
			return el[:i+1]
		}
	}
	return el
}

// elemName returns the local name of el's root element.
func elemName(el []byte) string {
	if len(el) < 2 {
		return ""
	}
	i := 1
	for i < len(el) && !isNameEnd(el[i]) {
		i++
	}
	name := el[1:i]
	if j := bytes.IndexByte(name, ':'); j >= 0 {
		name = name[j+1:]
	}
	return string(name)
}

func isNameEnd(c byte) bool {
	return c == ' ' || c == '/' || c == '>' || c == '\t' || c == '\n' || c == '\r'
}

// attr returns the value of attribute name on el's root tag, unescaped.
func attr(el []byte, name string) string {
	tag := rootTag(el)
	for i := 0; ; {
		j := bytes.Index(tag[i:], []byte(name+"="))
		if j < 0 || i+j+len(name)+2 > len(tag) {
			return ""
		}
		k := i + j
		if k > 0 && !isSpace(tag[k-1]) {
			i = k + 1
			continue
		}
		q := tag[k+len(name)+1]
		rest := tag[k+len(name)+2:]
		e := bytes.IndexByte(rest, q)
		if e < 0 {
			return ""
		}
		return unescape(rest[:e])
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// childText returns the text of the first element named local inside el
// (el's root included), unescaped, and whether it was found.
func childText(el []byte, local string) (string, bool) {
	b, ok := childTextRaw(el, local)
	if !ok {
		return "", false
	}
	return unescape(b), true
}

// childTextRaw is childText without unescaping and without copying.
func childTextRaw(el []byte, local string) ([]byte, bool) {
	t, _, ok := childTextAt(el, local)
	return t, ok
}

// childTextAt is childTextRaw that also returns the offset just past the
// text, to continue searching from.
func childTextAt(el []byte, local string) ([]byte, int, bool) {
	open := []byte("<" + local)
	for i := 0; ; {
		j := bytes.Index(el[i:], open)
		if j < 0 {
			return nil, 0, false
		}
		k := i + j + len(open)
		if k >= len(el) || !isNameEnd(el[k]) {
			i = k
			continue
		}
		t := rootTag(el[i+j:])
		start := i + j + len(t)
		if t[len(t)-2] == '/' {
			return nil, start, true // empty element
		}
		e := bytes.IndexByte(el[start:], '<')
		if e < 0 {
			return nil, 0, false
		}
		return el[start : start+e], start + e, true
	}
}

// has reports whether el contains an element named local (e.g. "starttls").
func has(el []byte, local string) bool {
	open := []byte("<" + local)
	for i := 0; ; {
		j := bytes.Index(el[i:], open)
		if j < 0 {
			return false
		}
		k := i + j + len(open)
		if k < len(el) && isNameEnd(el[k]) {
			return true
		}
		i = k
	}
}

// allText returns the texts of every element named local in el.
func allText(el []byte, local string) []string {
	var out []string
	for {
		t, next, ok := childTextAt(el, local)
		if !ok {
			return out
		}
		out = append(out, unescape(t))
		el = el[next:]
	}
}

var unescaper = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&quot;", `"`, "&apos;", "'", "&amp;", "&")

func unescape(b []byte) string {
	if bytes.IndexByte(b, '&') < 0 {
		return string(b)
	}
	return unescaper.Replace(string(b))
}

var escaper = strings.NewReplacer("<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "&", "&amp;")

// escape escapes s for text or a quoted attribute.
func escape(s string) string { return escaper.Replace(s) }
