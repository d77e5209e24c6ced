package xmlstream

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// escapeOneRuneAtATime is the straightforward form of escape: one decision
// per rune. The run-copying escape must produce exactly the same bytes.
func escapeOneRuneAtATime(b *bytes.Buffer, s string, attr bool) {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '"' && attr:
			b.WriteString("&quot;")
		case r == '\'' && attr:
			b.WriteString("&apos;")
		case r == '\n' && attr:
			b.WriteString("&#xA;")
		case r == '\r':
			b.WriteString("&#xD;")
		case r == '\t' && attr:
			b.WriteString("&#x9;")
		case (r == utf8.RuneError && size == 1) || !isXMLChar(r):
			b.WriteString("\uFFFD")
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
}

var escapeCases = []string{
	"", "plain", "a<b>c&d", `"quoted" 'single'`, "line\nbreak\r\ttab",
	"\x00\x01\x1f ctl", "héllo wörld ✓ 😀", "\xff\xfe broken utf8 \xc3",
	"\uFFFE\uFFFF not chars", "\ud7ff\ue000", "<<<>>>&&&",
}

// checkEscape compares escape with the rune-by-rune reference on s, as
// text and as an attribute value.
func checkEscape(t *testing.T, s string) {
	t.Helper()
	for _, attr := range []bool{false, true} {
		var got, want bytes.Buffer
		escape(&got, s, attr)
		escapeOneRuneAtATime(&want, s, attr)
		if got.String() != want.String() {
			t.Errorf("escape(%q, attr=%v) = %q, want %q", s, attr, got.String(), want.String())
		}
	}
}

func TestEscapeMatchesRuneByRune(t *testing.T) {
	for _, s := range escapeCases {
		checkEscape(t, s)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range escapeCases {
		f.Add(s)
	}
	f.Fuzz(checkEscape)
}

func BenchmarkEscapeAttr(b *testing.B) {
	s := "<message xmlns='jabber:client' to='room@muclight.localhost' id='1733100000000000000-42'><body>t=1733100000000000000 s=42 hello</body></message>"
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		escape(&buf, s, true)
	}
}

func BenchmarkEscapeAttrRuneByRune(b *testing.B) {
	s := "<message xmlns='jabber:client' to='room@muclight.localhost' id='1733100000000000000-42'><body>t=1733100000000000000 s=42 hello</body></message>"
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		escapeOneRuneAtATime(&buf, s, true)
	}
}
