package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
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
	cache     *scramCache // may be nil
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
	key := s.user + "\x00" + s.pass + "\x00" + salt64 + "\x00" + strconv.Itoa(iter) + "\x00" + strconv.Itoa(s.h().Size())
	salted := s.cache.get(key)
	if salted == nil {
		if salted, err = pbkdf2.Key(s.h, s.pass, salt, iter, s.h().Size()); err != nil {
			return "", err
		}
		s.cache.put(key, salted)
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

// scramCache keeps SaltedPassword per (user, password, salt, iterations,
// hash size). PBKDF2 is the costliest step of a SCRAM login and the server
// skips it (it stores the derived keys), so without the cache a login storm
// measures the generator as much as the server. RFC 5802 §5 allows a client
// to cache it. With --scram-cache the cache is loaded from and saved to a
// file, so a second run logs in without PBKDF2. Safe for concurrent use; a
// nil cache caches nothing.
type scramCache struct {
	mu    sync.Mutex
	m     map[string][]byte
	dirty bool
}

func newSCRAMCache() *scramCache { return &scramCache{m: map[string][]byte{}} }

func (c *scramCache) get(k string) []byte {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *scramCache) put(k string, v []byte) {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.m[k] = v
	c.dirty = true
	c.mu.Unlock()
}

// load reads a file written by save; a missing file is an empty cache.
func (c *scramCache) load(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var m map[string][]byte
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("scram cache %s: %w", path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	maps.Copy(c.m, m)
	return nil
}

// save writes the cache if it changed.
func (c *scramCache) save(path string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dirty {
		return nil
	}
	b, err := json.Marshal(c.m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
