package main

import (
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestElemReader(t *testing.T) {
	stream := `<?xml version='1.0'?><stream:stream xmlns='jabber:client' id="a>b" version='1.0'>` +
		`<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms></stream:features>` +
		"\n <message from='a@b/c' type='chat' title=\"x>y\"><body>1 2 3 &amp; 4</body></message><presence/>" +
		`</stream:stream>`
	// One byte at a time exercises every refill boundary.
	p := newElemReader(iotest.OneByteReader(strings.NewReader(stream)))
	p.buf = make([]byte, 8)
	ev, el, err := p.next()
	if err != nil || ev != evHeader || attr(el, "id") != "a>b" {
		t.Fatalf("header: %d %q %v", ev, el, err)
	}
	ev, el, err = p.next()
	if err != nil || ev != evElem || elemName(el) != "features" {
		t.Fatalf("features: %d %q %v", ev, el, err)
	}
	if got := allText(el, "mechanism"); strings.Join(got, ",") != "SCRAM-SHA-1,PLAIN" {
		t.Errorf("mechanisms = %q", got)
	}
	if !has(el, "mechanisms") || has(el, "starttls") {
		t.Error("has")
	}
	ev, el, err = p.next()
	if err != nil || ev != evElem || elemName(el) != "message" || attr(el, "type") != "chat" || attr(el, "from") != "a@b/c" {
		t.Fatalf("message: %d %q %v", ev, el, err)
	}
	if b, _ := childText(el, "body"); b != "1 2 3 & 4" {
		t.Errorf("body = %q", b)
	}
	ev, el, err = p.next()
	if err != nil || ev != evElem || string(el) != "<presence/>" {
		t.Fatalf("presence: %d %q %v", ev, el, err)
	}
	ev, _, err = p.next()
	if err != nil || ev != evEnd {
		t.Fatalf("end: %d %v", ev, err)
	}
	if _, _, err = p.next(); err != io.EOF {
		t.Fatalf("after end: %v", err)
	}
}

func TestElemReaderTooBig(t *testing.T) {
	big := "<stream:stream><message><body>" + strings.Repeat("x", maxElem+10) + "</body></message>"
	p := newElemReader(strings.NewReader(big))
	p.next()
	if _, _, err := p.next(); err != errElemTooBig {
		t.Fatalf("err = %v", err)
	}
}

// FuzzElemReader feeds arbitrary server bytes to the splitter and the
// element helpers: they must not panic, and every element must be a
// complete tag span.
func FuzzElemReader(f *testing.F) {
	f.Add(`<stream:stream xmlns='jabber:client'><message type='chat' from="a@b"><body>gb 1 2 3 1</body></message><iq id='x'/></stream:stream>`)
	f.Add(`<?xml version='1.0'?><s><a b='>'>t</a></s>`)
	f.Add(`<a><b/><c d="'"></c></a>`)
	f.Add(`<<>>></></>`)
	f.Fuzz(func(t *testing.T, s string) {
		p := newElemReader(iotest.HalfReader(strings.NewReader(s)))
		p.buf = make([]byte, 16)
		for range 1000 {
			ev, el, err := p.next()
			if err != nil {
				return
			}
			if ev == evEnd {
				continue
			}
			if len(el) < 2 || el[0] != '<' || el[len(el)-1] != '>' {
				t.Fatalf("event %d: %q", ev, el)
			}
			elemName(el)
			attr(el, "type")
			childText(el, "body")
			allText(el, "mechanism")
			has(el, "bind")
			if body, ok := childTextRaw(el, "body"); ok {
				parseBody(body)
			}
			saslData(el)
			errorCondition(el)
		}
	})
}

func TestErrorCondition(t *testing.T) {
	for in, want := range map[string]string{
		`<message type='error'><body>x</body><error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>`: "service-unavailable",
		`<message type='error'><error type='cancel'/></message>`: "unknown",
		`<message type='error'/>`:                                "unknown",
	} {
		if got := errorCondition([]byte(in)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
