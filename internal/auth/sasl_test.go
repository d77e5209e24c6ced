package auth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/xdg-go/scram"
)

const (
	saslTestServer = "example.com"
	saslTestIters  = 4096 // the xdg-go/scram client refuses fewer
)

// saslMemLookup is an in-memory CredentialLookup keyed by "server\x00user".
type saslMemLookup struct {
	creds map[string]Credentials
	err   error // returned for every lookup if set
}

func (m *saslMemLookup) Credentials(_ context.Context, server, username string) (Credentials, error) {
	if m.err != nil {
		return Credentials{}, m.err
	}
	c, ok := m.creds[server+"\x00"+username]
	if !ok {
		return Credentials{}, ErrUserNotFound
	}
	return c, nil
}

// saslTestLookup returns a lookup with juliet@example.com, password "r0m€o!".
// Deriving is slow, so it is done once.
var saslTestLookup = sync.OnceValue(func() *saslMemLookup {
	c, err := DeriveCredentials("r0m€o!", []byte("0123456789abcdef"), saslTestIters)
	if err != nil {
		panic(err)
	}
	return &saslMemLookup{creds: map[string]Credentials{saslTestServer + "\x00juliet": c}}
})

func mustSASLExchange(t testing.TB, mech string, lookup CredentialLookup) Exchange {
	t.Helper()
	ex, err := NewExchange(mech, saslTestServer, lookup)
	if err != nil {
		t.Fatalf("NewExchange(%q): %v", mech, err)
	}
	return ex
}

// scramRun drives a whole SCRAM exchange with the xdg-go client. tamper, if
// not nil, rewrites the client-final-message before it is sent.
func scramRun(t *testing.T, ex Exchange, h scram.HashGeneratorFcn, user, pass, authzid string, tamper func(string) string) error {
	t.Helper()
	ctx := context.Background()
	cl, err := h.NewClient(user, pass, authzid)
	if err != nil {
		t.Fatal(err)
	}
	conv := cl.NewConversation()
	c1, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	s1, done, err := ex.Step(ctx, []byte(c1))
	if err != nil {
		return err
	}
	if done {
		t.Fatal("done after client-first-message")
	}
	if ex.Username() != "" {
		t.Error("Username set before the exchange is done")
	}
	c2, err := conv.Step(string(s1))
	if err != nil {
		t.Fatalf("client rejected server-first-message %q: %v", s1, err)
	}
	if tamper != nil {
		c2 = tamper(c2)
	}
	s2, done, err := ex.Step(ctx, []byte(c2))
	if err != nil {
		if ex.Username() != "" {
			t.Error("Username set after failure")
		}
		return err
	}
	if !done {
		t.Fatal("not done after client-final-message")
	}
	if _, err := conv.Step(string(s2)); err != nil || !conv.Valid() {
		t.Fatalf("client rejected server-final-message %q: %v", s2, err)
	}
	if _, _, err := ex.Step(ctx, nil); !errors.Is(err, ErrMalformedRequest) {
		t.Errorf("Step after done = %v, want ErrMalformedRequest", err)
	}
	return nil
}

func TestSCRAM(t *testing.T) {
	replaceProof := func(c2 string) string {
		i := strings.LastIndex(c2, ",p=")
		return c2[:i] + ",p=" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	}
	flipProofBit := func(c2 string) string {
		i := strings.LastIndex(c2, ",p=")
		proof, _ := base64.StdEncoding.DecodeString(c2[i+3:])
		proof[0] ^= 1
		return c2[:i] + ",p=" + base64.StdEncoding.EncodeToString(proof)
	}
	changeNonce := func(c2 string) string { return strings.Replace(c2, ",r=", ",r=x", 1) }
	tests := []struct {
		name, user, pass, authzid string
		tamper                    func(string) string
		want                      error
	}{
		{"success", "juliet", "r0m€o!", "", nil, nil},
		{"case-mapped username", "Juliet", "r0m€o!", "", nil, nil},
		{"own bare JID as authzid", "juliet", "r0m€o!", "Juliet@Example.com", nil, nil},
		{"wrong password", "juliet", "wrong", "", nil, ErrNotAuthorized},
		{"unknown user", "romeo", "r0m€o!", "", nil, ErrNotAuthorized},
		{"unusable username", "jul iet", "r0m€o!", "", nil, ErrNotAuthorized},
		{"replaced proof", "juliet", "r0m€o!", "", replaceProof, ErrNotAuthorized},
		{"flipped proof bit", "juliet", "r0m€o!", "", flipProofBit, ErrNotAuthorized},
		{"changed nonce", "juliet", "r0m€o!", "", changeNonce, ErrNotAuthorized},
		{"garbage final", "juliet", "r0m€o!", "", func(string) string { return "garbage" }, ErrMalformedRequest},
		{"other user as authzid", "juliet", "r0m€o!", "romeo@example.com", nil, ErrInvalidAuthzid},
		{"full JID as authzid", "juliet", "r0m€o!", "juliet@example.com/balcony", nil, ErrInvalidAuthzid},
		{"other domain as authzid", "juliet", "r0m€o!", "juliet@example.net", nil, ErrInvalidAuthzid},
	}
	for _, mech := range []struct {
		name string
		h    scram.HashGeneratorFcn
	}{{MechSCRAMSHA1, scram.SHA1}, {MechSCRAMSHA256, scram.SHA256}} {
		for _, tt := range tests {
			t.Run(mech.name+"/"+tt.name, func(t *testing.T) {
				ex := mustSASLExchange(t, mech.name, saslTestLookup())
				err := scramRun(t, ex, mech.h, tt.user, tt.pass, tt.authzid, tt.tamper)
				if tt.want == nil {
					if err != nil {
						t.Fatalf("unexpected error %v", err)
					}
					if ex.Username() != "juliet" {
						t.Errorf("Username() = %q, want juliet", ex.Username())
					}
					return
				}
				if !errors.Is(err, tt.want) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				if ex.Username() != "" {
					t.Errorf("Username() = %q after failure", ex.Username())
				}
			})
		}
	}
}

// scramServerFirst sends client-first c1 and returns the server-first-message.
func scramServerFirst(t *testing.T, mech, c1 string) (string, error) {
	t.Helper()
	ex := mustSASLExchange(t, mech, saslTestLookup())
	out, _, err := ex.Step(context.Background(), []byte(c1))
	return string(out), err
}

// saltAndIters returns the s= and i= attributes of a server-first-message.
func saltAndIters(t *testing.T, s1 string) string {
	t.Helper()
	f := strings.Split(s1, ",")
	if len(f) != 3 {
		t.Fatalf("bad server-first-message %q", s1)
	}
	return f[1] + "," + f[2]
}

func TestSCRAMUnknownUserLooksReal(t *testing.T) {
	for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
		a, err := scramServerFirst(t, mech, "n,,n=romeo,r=abc")
		if err != nil {
			t.Fatalf("%s: unknown user rejected at first step: %v", mech, err)
		}
		b, err := scramServerFirst(t, mech, "n,,n=romeo,r=abc")
		if err != nil {
			t.Fatal(err)
		}
		if saltAndIters(t, a) != saltAndIters(t, b) {
			t.Errorf("%s: fake salt not stable: %q vs %q", mech, a, b)
		}
		c, err := scramServerFirst(t, mech, "n,,n=benvolio,r=abc")
		if err != nil {
			t.Fatal(err)
		}
		if saltAndIters(t, a) == saltAndIters(t, c) {
			t.Errorf("%s: two unknown users share a salt", mech)
		}
	}
}

func TestSCRAMClientFirst(t *testing.T) {
	tests := []struct {
		name, c1 string
		want     error
	}{
		{"n flag", "n,,n=juliet,r=abc", nil},
		{"y flag", "y,,n=juliet,r=abc", nil},
		{"authzid", "n,a=juliet@example.com,n=juliet,r=abc", nil},
		{"escaped username", "n,,n=jul=2Ciet,r=abc", nil}, // unknown user, still runs
		{"p flag", "p=tls-unique,,n=juliet,r=abc", ErrMalformedRequest},
		{"p flag exporter", "p=tls-exporter,,n=juliet,r=abc", ErrMalformedRequest},
		{"bad escape", "n,,n=jul=41iet,r=abc", ErrMalformedRequest},
		{"missing nonce", "n,,n=juliet", ErrMalformedRequest},
		{"extension", "n,,m=x,n=juliet,r=abc", ErrMalformedRequest},
		{"bad flag", "x,,n=juliet,r=abc", ErrMalformedRequest},
		{"bad authzid", "n,a=romeo@example.com,n=juliet,r=abc", ErrInvalidAuthzid},
	}
	for _, mech := range []string{MechSCRAMSHA1, MechSCRAMSHA256} {
		for _, tt := range tests {
			t.Run(mech+"/"+tt.name, func(t *testing.T) {
				s1, err := scramServerFirst(t, mech, tt.c1)
				if !errors.Is(err, tt.want) && !(tt.want == nil && err == nil) {
					t.Fatalf("error %v, want %v", err, tt.want)
				}
				if tt.want == nil && !strings.HasPrefix(s1, "r=abc") {
					t.Errorf("server-first %q does not extend the client nonce", s1)
				}
			})
		}
	}
}

func TestSCRAMNoInitialResponse(t *testing.T) {
	ctx := context.Background()
	ex := mustSASLExchange(t, MechSCRAMSHA256, saslTestLookup())
	out, done, err := ex.Step(ctx, nil)
	if err != nil || done || out == nil || len(out) != 0 {
		t.Fatalf("first empty Step = %q, %v, %v; want empty challenge", out, done, err)
	}
	if err := scramRun(t, ex, scram.SHA256, "juliet", "r0m€o!", "", nil); err != nil {
		t.Fatal(err)
	}
	// Two empty messages in a row are malformed.
	ex = mustSASLExchange(t, MechSCRAMSHA256, saslTestLookup())
	_, _, _ = ex.Step(ctx, nil)
	if _, _, err := ex.Step(ctx, nil); !errors.Is(err, ErrMalformedRequest) {
		t.Fatalf("second empty Step = %v", err)
	}
}

func TestSCRAMLookupFailure(t *testing.T) {
	lookup := &saslMemLookup{err: errors.New("database on fire")}
	ex := mustSASLExchange(t, MechSCRAMSHA256, lookup)
	_, _, err := ex.Step(context.Background(), []byte("n,,n=juliet,r=abc"))
	if !errors.Is(err, ErrTemporaryFailure) {
		t.Fatalf("error %v, want ErrTemporaryFailure", err)
	}
	if _, _, err := ex.Step(context.Background(), []byte("x")); !errors.Is(err, ErrMalformedRequest) {
		t.Fatalf("Step after failure = %v", err)
	}
}

func TestSCRAMAccountWithoutKeys(t *testing.T) {
	c := saslTestLookup().creds[saslTestServer+"\x00juliet"]
	c.SHA1StoredKey, c.SHA1ServerKey = nil, nil
	lookup := &saslMemLookup{creds: map[string]Credentials{saslTestServer + "\x00juliet": c}}
	ex := mustSASLExchange(t, MechSCRAMSHA1, lookup)
	if err := scramRun(t, ex, scram.SHA1, "juliet", "r0m€o!", "", nil); !errors.Is(err, ErrNotAuthorized) {
		t.Fatalf("error %v, want ErrNotAuthorized", err)
	}
}

func TestPLAIN(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"success", "\x00juliet\x00r0m€o!", nil},
		{"case-mapped", "\x00JULIET\x00r0m€o!", nil},
		{"own authzid", "juliet@example.com\x00juliet\x00r0m€o!", nil},
		{"wrong password", "\x00juliet\x00r0meo!", ErrNotAuthorized},
		{"unknown user", "\x00romeo\x00r0m€o!", ErrNotAuthorized},
		{"empty password", "\x00juliet\x00", ErrNotAuthorized},
		{"unusable username", "\x00jul iet\x00r0m€o!", ErrNotAuthorized},
		{"other authzid", "romeo@example.com\x00juliet\x00r0m€o!", ErrInvalidAuthzid},
		{"full JID authzid", "juliet@example.com/r\x00juliet\x00r0m€o!", ErrInvalidAuthzid},
		{"garbage authzid", "@@\x00juliet\x00r0m€o!", ErrInvalidAuthzid},
		{"no NUL", "julietr0m€o!", ErrMalformedRequest},
		{"one NUL", "juliet\x00r0m€o!", ErrMalformedRequest},
		{"three NULs", "\x00juliet\x00r0m€o!\x00", ErrMalformedRequest},
		{"empty authcid", "\x00\x00r0m€o!", ErrMalformedRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			ex := mustSASLExchange(t, MechPLAIN, saslTestLookup())
			out, done, err := ex.Step(ctx, []byte(tt.in))
			if tt.want == nil {
				if err != nil || !done || out != nil {
					t.Fatalf("Step = %q, %v, %v; want nil, true, nil", out, done, err)
				}
				if ex.Username() != "juliet" {
					t.Errorf("Username() = %q", ex.Username())
				}
			} else {
				if !errors.Is(err, tt.want) || done {
					t.Fatalf("Step = %v, %v; want %v", done, err, tt.want)
				}
				if ex.Username() != "" {
					t.Errorf("Username() = %q after failure", ex.Username())
				}
			}
			if _, _, err := ex.Step(ctx, []byte(tt.in)); !errors.Is(err, ErrMalformedRequest) {
				t.Errorf("second Step = %v, want ErrMalformedRequest", err)
			}
		})
	}
}

func TestPLAINNoInitialResponse(t *testing.T) {
	ctx := context.Background()
	ex := mustSASLExchange(t, MechPLAIN, saslTestLookup())
	out, done, err := ex.Step(ctx, []byte{})
	if err != nil || done || out == nil || len(out) != 0 {
		t.Fatalf("first empty Step = %q, %v, %v; want empty challenge", out, done, err)
	}
	if _, done, err := ex.Step(ctx, []byte("\x00juliet\x00r0m€o!")); err != nil || !done {
		t.Fatalf("Step = %v, %v", done, err)
	}
	ex = mustSASLExchange(t, MechPLAIN, saslTestLookup())
	_, _, _ = ex.Step(ctx, nil)
	if _, _, err := ex.Step(ctx, nil); !errors.Is(err, ErrMalformedRequest) {
		t.Fatalf("empty response to empty challenge = %v", err)
	}
}

func TestPLAINLookupFailure(t *testing.T) {
	ex := mustSASLExchange(t, MechPLAIN, &saslMemLookup{err: errors.New("database on fire")})
	if _, _, err := ex.Step(context.Background(), []byte("\x00juliet\x00pw")); !errors.Is(err, ErrTemporaryFailure) {
		t.Fatalf("error %v, want ErrTemporaryFailure", err)
	}
}

func TestNewExchange(t *testing.T) {
	for _, m := range []string{"SCRAM-SHA-256-PLUS", "scram-sha-256", "DIGEST-MD5", "", "ANONYMOUS"} {
		if _, err := NewExchange(m, saslTestServer, saslTestLookup()); !errors.Is(err, ErrInvalidMechanism) {
			t.Errorf("NewExchange(%q) = %v, want ErrInvalidMechanism", m, err)
		}
	}
	if _, err := NewExchange(MechPLAIN, "", saslTestLookup()); err == nil {
		t.Error("NewExchange with empty server succeeded")
	}
	if _, err := NewExchange(MechPLAIN, saslTestServer, nil); err == nil {
		t.Error("NewExchange with nil lookup succeeded")
	}
}

// saslCheapLookup has one user with few iterations so fuzzing stays fast.
func saslCheapLookup(tb testing.TB) *saslMemLookup {
	c, err := DeriveCredentials("pw", []byte("salt"), 1)
	if err != nil {
		tb.Fatal(err)
	}
	return &saslMemLookup{creds: map[string]Credentials{saslTestServer + "\x00juliet": c}}
}

func FuzzSCRAMStep(f *testing.F) {
	f.Add(true, []byte("n,,n=juliet,r=abc"), []byte("c=biws,r=abc,p=AAAA"))
	f.Add(false, []byte("y,,n=juliet,r=abc"), []byte("c=eSws,r=abcdef,p=dGVzdA=="))
	f.Add(true, []byte("n,a=juliet@example.com,n=juliet,r=a"), []byte(""))
	f.Add(false, []byte("p=tls-unique,,n=juliet,r=abc"), []byte(","))
	f.Add(true, []byte(""), []byte("n,,n=romeo,r=x"))
	f.Add(true, []byte("n,,n==2C=3D,r=,"), []byte("c=,r=,p="))
	lookup := saslCheapLookup(f)
	f.Fuzz(func(t *testing.T, sha256 bool, first, second []byte) {
		mech := MechSCRAMSHA1
		if sha256 {
			mech = MechSCRAMSHA256
		}
		ex := mustSASLExchange(t, mech, lookup)
		ctx := context.Background()
		for _, in := range [][]byte{first, second, second} {
			_, done, err := ex.Step(ctx, in)
			if done {
				t.Fatalf("fuzz input authenticated: %q %q", first, second)
			}
			if err != nil {
				if ex.Username() != "" {
					t.Fatal("Username set after failure")
				}
				return
			}
		}
	})
}

func FuzzPLAIN(f *testing.F) {
	for _, s := range []string{"\x00juliet\x00pw", "juliet@example.com\x00juliet\x00pw", "", "\x00", "\x00\x00",
		"a\x00b\x00c\x00d", "\x00JULIET\x00pw", "\xff\x00juliet\x00pw"} {
		f.Add([]byte(s))
	}
	lookup := saslCheapLookup(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		ex := mustSASLExchange(t, MechPLAIN, lookup)
		_, done, err := ex.Step(context.Background(), in)
		if err != nil && (done || ex.Username() != "") {
			t.Fatal("error with done or username")
		}
		if done && ex.Username() != "juliet" {
			t.Fatalf("authenticated as %q", ex.Username())
		}
	})
}
