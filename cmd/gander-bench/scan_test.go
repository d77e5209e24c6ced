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
