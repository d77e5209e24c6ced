package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scram is the client side of one SCRAM exchange (RFC 5802; SHA-256 per
// RFC 7677), without channel binding (gs2 header "n,,").
type scram struct {
	h         func() hash.Hash
	user      string
	pass      string
	cnonce    string
	bare      string // client-first-message-bare
	authMsg   string
	serverSig []byte
}

// errSCRAM is returned for a malformed or dishonest server message.
var errSCRAM = errors.New("scram: bad server message")

func newSCRAM(mech, user, pass, cnonce string) (*scram, error) {
	s := &scram{user: user, pass: pass, cnonce: cnonce}
	switch mech {
	case "SCRAM-SHA-1":
		s.h = sha1.New
	case "SCRAM-SHA-256":
		s.h = sha256.New
	default:
		return nil, fmt.Errorf("scram: unknown mechanism %q", mech)
	}
	return s, nil
}

// first returns the client-first-message.
func (s *scram) first() string {
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s.user)
	s.bare = "n=" + name + ",r=" + s.cnonce
	return "n,," + s.bare
}

// final answers the server-first-message with the client-final-message.
func (s *scram) final(serverFirst string) (string, error) {
	var nonce, salt64 string
	iter := 0
	for _, kv := range strings.Split(serverFirst, ",") {
		if len(kv) < 2 || kv[1] != '=' {
			continue
		}
		switch kv[0] {
		case 'r':
			nonce = kv[2:]
		case 's':
			salt64 = kv[2:]
		case 'i':
			iter, _ = strconv.Atoi(kv[2:])
		case 'm':
			return "", fmt.Errorf("%w: mandatory extension", errSCRAM)
		}
	}
	// RFC 5802 §5.1: the server nonce starts with the client's.
	if !strings.HasPrefix(nonce, s.cnonce) || len(nonce) == len(s.cnonce) || iter <= 0 {
		return "", errSCRAM
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil {
		return "", fmt.Errorf("%w: salt: %v", errSCRAM, err)
	}
	salted, err := pbkdf2.Key(s.h, s.pass, salt, iter, s.h().Size())
	if err != nil {
		return "", err
	}
	clientKey := s.hmac(salted, "Client Key")
	sum := s.h()
	sum.Write(clientKey)
	storedKey := sum.Sum(nil)
	withoutProof := "c=biws,r=" + nonce
	s.authMsg = s.bare + "," + serverFirst + "," + withoutProof
	sig := s.hmac(storedKey, s.authMsg)
	proof := make([]byte, len(clientKey))
	for i := range proof {
		proof[i] = clientKey[i] ^ sig[i]
	}
	s.serverSig = s.hmac(s.hmac(salted, "Server Key"), s.authMsg)
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

// verify checks the server-final-message's signature.
func (s *scram) verify(serverFinal string) error {
	if e, ok := strings.CutPrefix(serverFinal, "e="); ok {
		return fmt.Errorf("scram: server error %q", e)
	}
	v, ok := strings.CutPrefix(serverFinal, "v=")
	if !ok {
		return errSCRAM
	}
	if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	got, err := base64.StdEncoding.DecodeString(v)
	if err != nil || s.serverSig == nil || subtle.ConstantTimeCompare(got, s.serverSig) != 1 {
		return fmt.Errorf("%w: server signature mismatch", errSCRAM)
	}
	return nil
}

func (s *scram) hmac(key []byte, msg string) []byte {
	m := hmac.New(s.h, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
