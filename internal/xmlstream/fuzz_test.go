package xmlstream

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzDecoder feeds arbitrary stream bodies to the decoder: it must never
// panic, and every element it returns must re-serialise to XML that decodes
// back to the same serialisation.
func FuzzDecoder(f *testing.F) {
	for _, s := range []string{
		`<message to='a@b'><body>hi</body></message>`,
		`<iq type='get' id='1'><query xmlns='jabber:iq:roster'/></iq>`,
		`<p:x xmlns:p='urn:p' p:a='1'/>`,
		`<!-- c -->`, `<?pi?>`, `<a>&amp;&#x41;&#65;</a>`, `</stream:stream>`,
		`<a xml:lang='en'><b xmlns=''/></a>`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		d := NewDecoder(strings.NewReader(hdr+body), 4096)
		if _, err := d.Header(); err != nil {
			t.Fatalf("header: %v", err)
		}
		for i := 0; i < 100; i++ {
			el, err := d.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrStreamClosed) && !errors.Is(err, ErrNotWellFormed) &&
					!errors.Is(err, ErrRestricted) && !errors.Is(err, ErrStanzaTooBig) && !errors.Is(err, ErrUnboundPrefix) {
					t.Fatalf("unexpected error class: %v", err)
				}
				return
			}
			out := string(el.Bytes("jabber:client"))
			d2 := NewDecoder(strings.NewReader(hdr+out), 0)
			if _, err := d2.Header(); err != nil {
				t.Fatal(err)
			}
			el2, err := d2.Next()
			if err != nil {
				t.Fatalf("re-decode of %q: %v", out, err)
			}
			if string(el2.Bytes("jabber:client")) != out {
				t.Fatalf("round trip changed %q to %q", out, el2.Bytes("jabber:client"))
			}
		}
	})
}
