package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/xdg-go/scram"
	"golang.org/x/text/secure/precis"

	"github.com/gander-xmpp/gander/internal/jid"
)

// CredentialLookup fetches the credentials of user username on domain
// server. It returns an error wrapping ErrUserNotFound if there is no such
// account; any other error is treated as a temporary failure. The username
// is already normalised with the PRECIS UsernameCaseMapped profile and server
// is a normalised domainpart. Implementations must be safe for concurrent
// use, since many exchanges run at once.
type CredentialLookup interface {
	Credentials(ctx context.Context, server, username string) (Credentials, error)
}

// SASL mechanism names, in the server's order of preference. The -PLUS
// (channel binding) variants are not offered.
const (
	MechSCRAMSHA256 = "SCRAM-SHA-256"
	MechSCRAMSHA1   = "SCRAM-SHA-1"
	MechPLAIN       = "PLAIN"
)

// Exchange is one SASL authentication in progress. It is not safe for
// concurrent use; the connection's reader goroutine owns it.
type Exchange interface {
	// Step consumes the client's decoded response (the initial response on
	// the first call, which may be empty) and returns the server's next
	// challenge (decoded) or, when done is true, the additional data for
	// <success/> (which may be nil). Errors wrap ErrNotAuthorized,
	// ErrMalformedRequest, ErrInvalidAuthzid or ErrTemporaryFailure. After
	// an error or once done, the exchange is over and further calls fail
	// with ErrMalformedRequest. Step does not retain in.
	Step(ctx context.Context, in []byte) (out []byte, done bool, err error)
	// Username returns the authenticated localpart, normalised with the
	// PRECIS UsernameCaseMapped profile, once Step has returned done; before
	// that, or after a failure, it returns "".
	Username() string
}

// NewExchange starts a SASL exchange with mechanism mech for accounts of
// domain server. It returns an error wrapping ErrInvalidMechanism for a
// mechanism not listed above, and a jid error if server is not a valid
// domainpart. lookup must not be nil.
func NewExchange(mech string, server string, lookup CredentialLookup) (Exchange, error) {
	if lookup == nil {
		return nil, errors.New("auth: nil CredentialLookup")
	}
	dom, err := jid.New("", server, "")
	if err != nil {
		return nil, fmt.Errorf("auth: server %q: %w", server, err)
	}
	switch mech {
	case MechSCRAMSHA256:
		return newSCRAM(scram.SHA256, true, dom.Domain(), lookup), nil
	case MechSCRAMSHA1:
		return newSCRAM(scram.SHA1, false, dom.Domain(), lookup), nil
	case MechPLAIN:
		return &plainExchange{server: dom.Domain(), lookup: lookup}, nil
	default:
		return nil, fmt.Errorf("auth: %w: %q", ErrInvalidMechanism, mech)
	}
}

// exchangeState is where an exchange is in its conversation.
type exchangeState int

const (
	stateStart    exchangeState = iota // nothing received yet
	stateAwaiting                      // empty challenge sent, waiting for the first real message
	stateFinal                         // SCRAM: server-first sent, waiting for client-final
	stateDone                          // authenticated
	stateFailed                        // failed; no more steps
)

var errFinished = fmt.Errorf("auth: %w: exchange already finished", ErrMalformedRequest)

// fakeSecret is the per-process key from which credentials of non-existent
// users are derived, so that SCRAM answers for an unknown user look like
// those of a real one and are stable across attempts (RFC 5802 §5.1 lets the
// server pretend the user exists). It is made on first use.
var fakeSecret = sync.OnceValue(func() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails since Go 1.24.
	return b
})

// fakeKey derives n pseudo-random bytes for label, server and username.
func fakeKey(label, server, username string, n int) []byte {
	m := hmac.New(sha256.New, fakeSecret())
	m.Write([]byte(label))
	m.Write([]byte{0})
	m.Write([]byte(server))
	m.Write([]byte{0})
	m.Write([]byte(username))
	return m.Sum(nil)[:n]
}

// fakeCredentials returns credentials that no password matches, with a salt
// that is stable for the same (server, username).
func fakeCredentials(server, username string) Credentials {
	return Credentials{
		Salt:            fakeKey("salt", server, username, 16),
		Iterations:      DefaultIterations,
		SHA1StoredKey:   fakeKey("sha1-stored", server, username, 20),
		SHA1ServerKey:   fakeKey("sha1-server", server, username, 20),
		SHA256StoredKey: fakeKey("sha256-stored", server, username, 32),
		SHA256ServerKey: fakeKey("sha256-server", server, username, 32),
	}
}

// checkAuthzid implements RFC 6120 §6.3.8: a client may only ask to act as
// itself, so an authzid, if given, must be the user's own bare JID.
func checkAuthzid(authzid, username, server string) error {
	if authzid == "" {
		return nil
	}
	want, err := jid.New(username, server, "")
	if err != nil {
		return fmt.Errorf("auth: %w: %v", ErrInvalidAuthzid, err)
	}
	got, err := jid.Parse(authzid)
	if err != nil {
		return fmt.Errorf("auth: %w: %v", ErrInvalidAuthzid, err)
	}
	if got != want {
		return fmt.Errorf("auth: %w: %q is not %q", ErrInvalidAuthzid, got, want)
	}
	return nil
}

// scramExchange runs SCRAM-SHA-1 or SCRAM-SHA-256 (RFC 5802, RFC 7677)
// without channel binding.
type scramExchange struct {
	sha256 bool
	server string
	lookup CredentialLookup
	conv   *scram.ServerConversation
	state  exchangeState

	// Set by the credential callback during the first step.
	ctx       context.Context
	username  string // normalised; "" if normalisation failed
	fake      bool   // credentials are fake: the exchange must fail
	lookupErr error  // lookup failed for a reason other than a missing user
}

func newSCRAM(h scram.HashGeneratorFcn, is256 bool, server string, lookup CredentialLookup) *scramExchange {
	e := &scramExchange{sha256: is256, server: server, lookup: lookup}
	// NewServer cannot fail; it only stores its arguments.
	s, _ := h.NewServer(e.credentials)
	// A conversation without channel binding accepts the gs2 flags "n" and
	// "y" and rejects "p" (RFC 5802 §6), as we offer no -PLUS mechanism.
	e.conv = s.NewConversation()
	return e
}

// credentials is the scram.CredentialLookup callback. name has already been
// unescaped (=2C, =3D) by the scram package.
func (e *scramExchange) credentials(name string) (scram.StoredCredentials, error) {
	user, err := precis.UsernameCaseMapped.String(name)
	if err != nil {
		// No account can have this name; run the exchange to its end anyway.
		e.fake = true
		return e.stored(fakeCredentials(e.server, name)), nil
	}
	e.username = user
	c, err := e.lookup.Credentials(e.ctx, e.server, user)
	switch {
	case errors.Is(err, ErrUserNotFound):
		e.fake = true
		return e.stored(fakeCredentials(e.server, user)), nil
	case err != nil:
		e.lookupErr = err
		return scram.StoredCredentials{}, err
	}
	sc := e.stored(c)
	if len(sc.Salt) == 0 || sc.Iters <= 0 || len(sc.StoredKey) == 0 || len(sc.ServerKey) == 0 {
		// An account without keys for this hash cannot log in with it.
		e.fake = true
		return e.stored(fakeCredentials(e.server, user)), nil
	}
	return sc, nil
}

// stored picks the keys for this exchange's hash.
func (e *scramExchange) stored(c Credentials) scram.StoredCredentials {
	sc := scram.StoredCredentials{KeyFactors: scram.KeyFactors{Salt: string(c.Salt), Iters: c.Iterations}}
	if e.sha256 {
		sc.StoredKey, sc.ServerKey = c.SHA256StoredKey, c.SHA256ServerKey
	} else {
		sc.StoredKey, sc.ServerKey = c.SHA1StoredKey, c.SHA1ServerKey
	}
	return sc
}

// Step implements Exchange.
func (e *scramExchange) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	switch e.state {
	case stateStart, stateAwaiting:
		if len(in) == 0 {
			if e.state == stateStart {
				// No initial response: RFC 6120 §6.4.2 says send an empty
				// challenge and wait for the client-first message.
				e.state = stateAwaiting
				return []byte{}, false, nil
			}
			e.state = stateFailed
			return nil, false, fmt.Errorf("auth: %w: empty client-first-message", ErrMalformedRequest)
		}
		return e.first(ctx, in)
	case stateFinal:
		return e.final(in)
	default:
		return nil, false, errFinished
	}
}

func (e *scramExchange) first(ctx context.Context, in []byte) ([]byte, bool, error) {
	e.ctx = ctx
	out, err := e.conv.Step(string(in))
	e.ctx = nil
	if err != nil {
		e.state = stateFailed
		e.username = ""
		if e.lookupErr != nil {
			return nil, false, fmt.Errorf("auth: %w: %v", ErrTemporaryFailure, e.lookupErr)
		}
		return nil, false, fmt.Errorf("auth: scram: %w: %v", ErrMalformedRequest, err)
	}
	if err := checkAuthzid(e.conv.AuthzID(), e.username, e.server); err != nil {
		e.state = stateFailed
		e.username = ""
		return nil, false, err
	}
	e.state = stateFinal
	return []byte(out), false, nil
}

func (e *scramExchange) final(in []byte) ([]byte, bool, error) {
	out, err := e.conv.Step(string(in))
	if err != nil || e.fake || !e.conv.Valid() {
		e.state = stateFailed
		e.username = ""
		if err != nil && out == "" {
			// The scram package gives no server error value only when the
			// message did not parse.
			return nil, false, fmt.Errorf("auth: scram: %w: %v", ErrMalformedRequest, err)
		}
		// Wrong proof, unknown user, or a tampered nonce or gs2 header: all
		// look the same to the client.
		return nil, false, fmt.Errorf("auth: scram: %w", ErrNotAuthorized)
	}
	e.state = stateDone
	// RFC 6120 §6.4.6: the server-final-message goes in <success/>.
	return []byte(out), true, nil
}

// Username implements Exchange.
func (e *scramExchange) Username() string {
	if e.state != stateDone {
		return ""
	}
	return e.username
}

// plainExchange runs PLAIN (RFC 4616).
type plainExchange struct {
	server   string
	lookup   CredentialLookup
	state    exchangeState
	username string
}

// Step implements Exchange.
func (e *plainExchange) Step(ctx context.Context, in []byte) ([]byte, bool, error) {
	switch e.state {
	case stateStart:
		if len(in) == 0 {
			// No initial response (RFC 6120 §6.4.2): ask for it.
			e.state = stateAwaiting
			return []byte{}, false, nil
		}
	case stateAwaiting:
	default:
		return nil, false, errFinished
	}
	e.state = stateFailed
	user, err := e.check(ctx, in)
	if err != nil {
		return nil, false, err
	}
	e.state, e.username = stateDone, user
	return nil, true, nil
}

// check verifies message = [authzid] NUL authcid NUL passwd (RFC 4616 §2)
// and returns the normalised username.
func (e *plainExchange) check(ctx context.Context, in []byte) (string, error) {
	parts := bytes.Split(in, []byte{0})
	if len(parts) != 3 {
		return "", fmt.Errorf("auth: plain: %w: want 3 NUL-separated fields, got %d", ErrMalformedRequest, len(parts))
	}
	authzid, authcid, passwd := string(parts[0]), string(parts[1]), string(parts[2])
	if authcid == "" {
		return "", fmt.Errorf("auth: plain: %w: empty authcid", ErrMalformedRequest)
	}
	user, err := precis.UsernameCaseMapped.String(authcid)
	if err != nil {
		return "", fmt.Errorf("auth: plain: %w", ErrNotAuthorized)
	}
	if err := checkAuthzid(authzid, user, e.server); err != nil {
		return "", err
	}
	if passwd == "" {
		return "", fmt.Errorf("auth: plain: %w: empty password", ErrNotAuthorized)
	}
	c, err := e.lookup.Credentials(ctx, e.server, user)
	switch {
	case errors.Is(err, ErrUserNotFound):
		// Spend the same PBKDF2 time as for a real account, so the answer's
		// timing does not say whether the user exists.
		fakeCredentials(e.server, user).CheckPassword(passwd)
		return "", fmt.Errorf("auth: plain: %w", ErrNotAuthorized)
	case err != nil:
		return "", fmt.Errorf("auth: %w: %v", ErrTemporaryFailure, err)
	}
	if !c.CheckPassword(passwd) {
		return "", fmt.Errorf("auth: plain: %w", ErrNotAuthorized)
	}
	return user, nil
}

// Username implements Exchange.
func (e *plainExchange) Username() string {
	if e.state != stateDone {
		return ""
	}
	return e.username
}
