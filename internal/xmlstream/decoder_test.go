package xmlstream

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const hdr = `<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0' xml:lang='en'>`

func TestHeaderAndStanzas(t *testing.T) {
	in := hdr + ` <message to='a@b' id='1'><body>hi &amp; &lt;bye&gt;</body><x xmlns='urn:x' xmlns:p='urn:p' p:attr='v'/></message>
	<iq type='get'/></stream:stream>`
	d := NewDecoder(strings.NewReader(in), 0)
	h, err := d.Header()
	require.NoError(t, err)
	require.Equal(t, Header{Space: "http://etherx.jabber.org/streams", Local: "stream", DefaultNS: "jabber:client", To: "localhost", Version: "1.0", Lang: "en"}, h)

	m, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, "jabber:client", m.Space)
	require.Equal(t, "message", m.Local)
	require.Equal(t, "a@b", m.Attr("to"))
	require.Equal(t, "hi & <bye>", m.ChildText("jabber:client", "body"))
	x := m.Child("urn:x", "x")
	require.NotNil(t, x)
	require.Equal(t, []Attr{{Space: "urn:p", Local: "attr", Value: "v"}}, x.Attrs)

	iq, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, "iq", iq.Local)

	_, err = d.Next()
	require.ErrorIs(t, err, ErrStreamClosed)
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name, body string
		want       error
	}{
		{"comment", `<!-- hi --><message/>`, ErrRestricted},
		{"pi", `<?foo bar?>`, ErrRestricted},
		{"dtd", `<!DOCTYPE foo>`, ErrRestricted},
		{"mismatch", `<message><body></message>`, ErrNotWellFormed},
		{"unbound", `<p:message/>`, ErrUnboundPrefix},
		{"entity", `<message>&foo;</message>`, ErrNotWellFormed},
		{"text", `hello`, ErrNotWellFormed},
		{"toobig", `<message><body>` + strings.Repeat("a", 5000) + `</body></message>`, ErrStanzaTooBig},
		{"flood", strings.Repeat("x", 100000), ErrNotWellFormed},
		{"eof", `<message><body>`, io.EOF},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(strings.NewReader(hdr+c.body), 1024)
			_, err := d.Header()
			require.NoError(t, err)
			_, err = d.Next()
			require.Error(t, err)
			require.True(t, errors.Is(err, c.want), "got %v", err)
		})
	}
}

func TestFloodWithoutMarkupIsCapped(t *testing.T) {
	// A stanza that never ends must fail at the cap, not after reading all.
	r := io.MultiReader(strings.NewReader(hdr+"<message><body>"), infinite('a'))
	d := NewDecoder(r, 4096)
	_, err := d.Header()
	require.NoError(t, err)
	_, err = d.Next()
	require.ErrorIs(t, err, ErrStanzaTooBig)
}

type infinite byte

func (b infinite) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

func TestRoundTrip(t *testing.T) {
	e := New("jabber:client", "message", "to", `a"b<c>&'`, "type", "chat")
	e.Attrs = append(e.Attrs, Attr{Space: NSXML, Local: "lang", Value: "en"})
	e.Append(New("jabber:client", "body").AppendText("1 < 2 & \"3\"\r\n\x01"))
	e.Append(New("urn:x", "x").Append(New("urn:x", "y")))
	out := e.Bytes("jabber:client")
	require.Equal(t, `<message to="a&quot;b&lt;c&gt;&amp;&apos;" type="chat" xml:lang="en"><body>1 &lt; 2 &amp; "3"&#xD;`+"\n\uFFFD"+`</body><x xmlns="urn:x"><y/></x></message>`, string(out))

	d := NewDecoder(strings.NewReader(hdr+string(out)), 0)
	_, err := d.Header()
	require.NoError(t, err)
	got, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, `a"b<c>&'`, got.Attr("to"))
	require.Equal(t, "en", got.Lang())
	require.Equal(t, "1 < 2 & \"3\"\r\n\uFFFD", got.ChildText("jabber:client", "body"))
	require.NotNil(t, got.Child("urn:x", "x").Child("urn:x", "y"))
}

func TestNamespacedAttrSerialisation(t *testing.T) {
	e := New("urn:a", "a")
	e.Attrs = append(e.Attrs, Attr{Space: "urn:p", Local: "k", Value: "v"})
	e.Append(New("urn:a", "b"))
	d := NewDecoder(strings.NewReader(hdr+e.String()), 0)
	_, err := d.Header()
	require.NoError(t, err)
	got, err := d.Next()
	require.NoError(t, err)
	require.Equal(t, e.String(), got.String())
}

func BenchmarkDecodeMessage(b *testing.B) {
	msg := `<message to='juliet@example.com/balcony' from='romeo@example.net/orchard' type='chat' id='ktx72v49'><body>Art thou not Romeo, and a Montague?</body><active xmlns='http://jabber.org/protocol/chatstates'/></message>`
	in := hdr + strings.Repeat(msg, b.N)
	d := NewDecoder(strings.NewReader(in), 65536)
	if _, err := d.Header(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := d.Next(); err != nil {
			b.Fatal(err)
		}
	}
}
