package jid

import (
	"errors"
	"strings"
	"testing"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in                      string
		local, domain, resource string
		str                     string
	}{
		{"example.com", "", "example.com", "", "example.com"},
		{"juliet@example.com", "juliet", "example.com", "", "juliet@example.com"},
		{"juliet@example.com/foo", "juliet", "example.com", "foo", "juliet@example.com/foo"},
		{"juliet@example.com/foo bar", "juliet", "example.com", "foo bar", "juliet@example.com/foo bar"},
		{"juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar", "juliet@example.com/foo@bar"},
		{"juliet@example.com/foo/bar", "juliet", "example.com", "foo/bar", "juliet@example.com/foo/bar"},
		{"example.com/foo@bar", "", "example.com", "foo@bar", "example.com/foo@bar"},
		{"Juliet@Example.COM/Balcony", "juliet", "example.com", "Balcony", "juliet@example.com/Balcony"},
		{"juliet@example.com.", "juliet", "example.com", "", "juliet@example.com"},
		{"juliet@example.com./r", "juliet", "example.com", "r", "juliet@example.com/r"},
		{"localhost", "", "localhost", "", "localhost"},
		{"u@127.0.0.1", "u", "127.0.0.1", "", "u@127.0.0.1"},
		{"u@[::1]/r", "u", "[::1]", "r", "u@[::1]/r"},
		{"u@[2001:DB8:0:0::1]", "u", "[2001:db8::1]", "", "u@[2001:db8::1]"},
		// Unicode: case mapping of localpart, IDNA mapping of domain.
		{"ΣΑΜ@example.com", "σαμ", "example.com", "", "σαμ@example.com"},
		{"juliet@ÉXAMPLE.com", "juliet", "éxample.com", "", "juliet@éxample.com"},
		{"juliet@xn--xample-9ua.com", "juliet", "éxample.com", "", "juliet@éxample.com"},
		{"juliet@example\u3002com", "juliet", "example.com", "", "juliet@example.com"},
		{"\uff4a\uff55\uff4c\uff49\uff45\uff54@example.com", "juliet", "example.com", "", "juliet@example.com"},
		{"π@example.com/♚", "π", "example.com", "♚", "π@example.com/♚"},
		{"king@example.com/♔♕", "king", "example.com", "♔♕", "king@example.com/♔♕"},
		// NFC in the resourcepart.
		{"u@example.com/e\u0301", "u", "example.com", "é", "u@example.com/é"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			j, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if j.Local() != tt.local || j.Domain() != tt.domain || j.Resource() != tt.resource {
				t.Errorf("Parse(%q) = %q %q %q, want %q %q %q", tt.in,
					j.Local(), j.Domain(), j.Resource(), tt.local, tt.domain, tt.resource)
			}
			if got := j.String(); got != tt.str {
				t.Errorf("String() = %q, want %q", got, tt.str)
			}
			again, err := Parse(j.String())
			if err != nil || again != j {
				t.Errorf("reparse of %q = %v, %v", j.String(), again, err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	long := strings.Repeat("a", 1024)
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrEmpty},
		{"@example.com", ErrEmptyPart},
		{"juliet@", ErrEmptyPart},
		{"example.com/", ErrEmptyPart},
		{"juliet@example.com/", ErrEmptyPart},
		{"/foo", ErrEmptyPart},
		{"@", ErrEmptyPart},
		{"a@b@example.com", ErrInvalidDomain},
		{"jul iet@example.com", ErrInvalidLocal},
		{"jul\"iet@example.com", ErrInvalidLocal},
		{"jul&iet@example.com", ErrInvalidLocal},
		{"jul'iet@example.com", ErrInvalidLocal},
		{"jul:iet@example.com", ErrInvalidLocal},
		{"jul<iet@example.com", ErrInvalidLocal},
		{"jul>iet@example.com", ErrInvalidLocal},
		{"jul\u0000iet@example.com", ErrInvalidLocal},
		{"♚@example.com", ErrInvalidLocal},
		{"juliet@exa mple.com", ErrInvalidDomain},
		{"juliet@exa_mple.com", ErrInvalidDomain},
		{"juliet@example..com", ErrInvalidDomain},
		{"juliet@.example.com", ErrInvalidDomain},
		{"juliet@example.com..", ErrInvalidDomain},
		{"juliet@.", ErrInvalidDomain},
		{"juliet@[::1", ErrInvalidDomain},
		{"juliet@[1.2.3.4]", ErrInvalidDomain},
		{"juliet@[fe80::1%eth0]", ErrInvalidDomain},
		{"juliet@" + strings.Repeat("a", 64) + ".com", ErrInvalidDomain},
		{"juliet@xn--a.com", ErrInvalidDomain},
		{"juliet@example.com/\u0007", ErrInvalidResource},
		{"juliet@example.com/a\u200bb", ErrInvalidResource},
		{long + "@example.com", ErrTooLong},
		{"juliet@example.com/" + long, ErrTooLong},
		{strings.Repeat("a", 5000) + "@example.com", ErrTooLong},
	}
	for _, tt := range tests {
		name := tt.in
		if len(name) > 40 {
			name = name[:40]
		}
		t.Run(name, func(t *testing.T) {
			j, err := Parse(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse(%q) = %v, %v; want error %v", tt.in, j, err, tt.want)
			}
			if !j.IsZero() {
				t.Errorf("Parse(%q) returned non-zero JID %v with error", tt.in, j)
			}
		})
	}
}

func TestMaxLengthParts(t *testing.T) {
	max := strings.Repeat("a", 1023)
	j, err := New(max, "example.com", max)
	if err != nil {
		t.Fatal(err)
	}
	if len(j.Local()) != 1023 || len(j.Resource()) != 1023 {
		t.Fatalf("lengths %d %d", len(j.Local()), len(j.Resource()))
	}
}

func TestNew(t *testing.T) {
	j, err := New("Juliet", "Example.COM.", "Balcony")
	if err != nil {
		t.Fatal(err)
	}
	if want := MustParse("juliet@example.com/Balcony"); j != want {
		t.Errorf("New = %v, want %v", j, want)
	}
	// New does not split: '@' in the localpart is rejected, '/' in the
	// resource is kept.
	if _, err := New("a@b", "example.com", ""); !errors.Is(err, ErrInvalidLocal) {
		t.Errorf("New with @ in local: %v", err)
	}
	if j, err := New("", "example.com", "a/b"); err != nil || j.Resource() != "a/b" {
		t.Errorf("New with / in resource: %v %v", j, err)
	}
	if _, err := New("a", "", ""); !errors.Is(err, ErrEmptyPart) {
		t.Errorf("New without domain: %v", err)
	}
}

func TestAccessors(t *testing.T) {
	j := MustParse("juliet@example.com/balcony")
	if j.IsBare() || j.IsZero() {
		t.Error("full JID reported bare or zero")
	}
	b := j.Bare()
	if b.String() != "juliet@example.com" || !b.IsBare() {
		t.Errorf("Bare = %v", b)
	}
	if d := j.Domainpart(); d.String() != "example.com" || d.Local() != "" {
		t.Errorf("Domainpart = %v", d)
	}
	r, err := b.WithResource("Chamber")
	if err != nil || r.String() != "juliet@example.com/Chamber" {
		t.Errorf("WithResource = %v, %v", r, err)
	}
	if r, err := j.WithResource(""); err != nil || r != b {
		t.Errorf("WithResource(\"\") = %v, %v", r, err)
	}
	if _, err := j.WithResource("\u0007"); !errors.Is(err, ErrInvalidResource) {
		t.Errorf("WithResource(bell) = %v", err)
	}
	if !j.Equal(MustParse("JULIET@EXAMPLE.COM./balcony")) {
		t.Error("Equal failed on differently written equal JIDs")
	}
	if j.Equal(MustParse("juliet@example.com/Balcony")) {
		t.Error("resourceparts are case sensitive")
	}
	var z JID
	if !z.IsZero() || z.String() != "" || !z.IsBare() {
		t.Error("zero JID misbehaves")
	}
	m := map[JID]int{j: 1}
	if m[MustParse("Juliet@example.com/balcony")] != 1 {
		t.Error("JID not usable as map key")
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse did not panic")
		}
	}()
	MustParse("@")
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"", "example.com", "juliet@example.com/balcony", "Juliet@Example.COM/Balcony",
		"@example.com", "u@", "d/", "u@[::1]/r", "u@127.0.0.1", "σαμ@éxample.com/♚",
		"u@xn--xample-9ua.com", "u@example\u3002com\u3002", "a@b@c/d/e", "\uff4a@\uff45.com",
		"u@example.com/e\u0301", "u@[fe80::1%eth0]", "u@example..com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Parse(s)
		if err != nil {
			if !j.IsZero() {
				t.Fatalf("Parse(%q) returned %v with error %v", s, j, err)
			}
			return
		}
		if j.Domain() == "" {
			t.Fatalf("Parse(%q) ok with empty domain", s)
		}
		for _, p := range []string{j.Local(), j.Domain(), j.Resource()} {
			if len(p) > maxPart {
				t.Fatalf("Parse(%q): part of %d bytes", s, len(p))
			}
		}
		again, err := Parse(j.String())
		if err != nil {
			t.Fatalf("Parse(%q) = %q but reparse failed: %v", s, j.String(), err)
		}
		if again != j {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, j.String(), again.String())
		}
	})
}
