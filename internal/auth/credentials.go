// Package auth owns accounts: salted SCRAM credentials, their storage, and
// the SASL mechanisms (SCRAM-SHA-256, SCRAM-SHA-1, PLAIN) that check them.
package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"

	"github.com/xdg-go/scram"
)

// DefaultIterations is the PBKDF2 iteration count used for new credentials
// when the configuration does not set auth.password.scram_iterations.
const DefaultIterations = 10000

// Credentials are what the server keeps of a password: a salt, an iteration
// count and, for each SCRAM hash, the StoredKey and ServerKey of RFC 5802.
// The password itself is never stored. Credentials are plain values and safe
// to copy.
type Credentials struct {
	Salt            []byte
	Iterations      int
	SHA1StoredKey   []byte
	SHA1ServerKey   []byte
	SHA256StoredKey []byte
	SHA256ServerKey []byte
}

// NewCredentials derives credentials for password with a fresh random salt.
func NewCredentials(password string, iterations int) (Credentials, error) {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return Credentials{}, fmt.Errorf("auth: salt: %w", err)
	}
	return DeriveCredentials(password, salt, iterations)
}

// DeriveCredentials derives credentials for password with the given salt and
// iteration count. The password is SASLprepared as RFC 5802 requires.
func DeriveCredentials(password string, salt []byte, iterations int) (Credentials, error) {
	kf := scram.KeyFactors{Salt: string(salt), Iters: iterations}
	c := Credentials{Salt: append([]byte(nil), salt...), Iterations: iterations}
	for _, h := range []struct {
		fn             scram.HashGeneratorFcn
		stored, server *[]byte
	}{
		{scram.SHA1, &c.SHA1StoredKey, &c.SHA1ServerKey},
		{scram.SHA256, &c.SHA256StoredKey, &c.SHA256ServerKey},
	} {
		cl, err := h.fn.NewClient("user", password, "")
		if err != nil {
			return Credentials{}, fmt.Errorf("auth: %w: %v", ErrBadPassword, err)
		}
		sc, err := cl.GetStoredCredentialsWithError(kf)
		if err != nil {
			return Credentials{}, fmt.Errorf("auth: derive: %w", err)
		}
		*h.stored, *h.server = sc.StoredKey, sc.ServerKey
	}
	return c, nil
}

// CheckPassword reports whether password matches the credentials. It costs
// one PBKDF2 derivation per call and compares in constant time.
func (c Credentials) CheckPassword(password string) bool {
	if len(c.Salt) == 0 || c.Iterations <= 0 {
		return false
	}
	d, err := DeriveCredentials(password, c.Salt, c.Iterations)
	if err != nil {
		return false
	}
	return subtle.ConstantTimeCompare(d.SHA256StoredKey, c.SHA256StoredKey) == 1 &&
		subtle.ConstantTimeCompare(d.SHA1StoredKey, c.SHA1StoredKey) == 1
}
