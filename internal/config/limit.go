package config

import (
	"math"
	"strconv"
)

// Limit is a non-negative integer option that, as in MongooseIM, also
// accepts the string "infinity". Both "infinity" and 0 decode to
// Unlimited (0); use IsUnlimited rather than comparing with a sentinel.
type Limit int

// Unlimited is the value of a Limit written as "infinity" (or 0).
const Unlimited Limit = 0

// limitInvalid marks a string that was neither "infinity" nor an integer.
// The decoder does not attach positions to errors returned from
// UnmarshalText for non-string values, so the bad value is kept and reported
// by validation instead, where the key's position is known.
const limitInvalid Limit = math.MinInt

// IsUnlimited reports whether l means "no limit".
func (l Limit) IsUnlimited() bool { return l == Unlimited }

// UnmarshalText decodes "infinity" or a decimal integer written as a string.
// TOML integers do not come here: Limit's kind is int, so the decoder sets
// them directly.
func (l *Limit) UnmarshalText(text []byte) error {
	s := string(text)
	if s == "infinity" {
		*l = Unlimited
		return nil
	}
	n, err := strconv.ParseInt(s, 10, strconv.IntSize)
	if err != nil {
		*l = limitInvalid
		return nil
	}
	*l = Limit(n)
	return nil
}

// MarshalText encodes the limit the way it is written in the file.
func (l Limit) MarshalText() ([]byte, error) {
	if l.IsUnlimited() {
		return []byte("infinity"), nil
	}
	return []byte(strconv.Itoa(int(l))), nil
}

// String returns "infinity" or the decimal value.
func (l Limit) String() string {
	b, _ := l.MarshalText()
	return string(b)
}

// checkLimit validates a decoded Limit: it must be non-negative (or, with
// positive, strictly positive unless "infinity").
func (c *checker) checkLimit(key string, l Limit) {
	switch {
	case l == limitInvalid:
		c.errorf(key, `must be a non-negative integer or "infinity", got %s`, c.ix.raw[key])
	case l < 0:
		c.errorf(key, `must be a non-negative integer or "infinity", got %d`, int(l))
	}
}

// limitDefault applies def when key is absent from the document.
func (c *checker) limitDefault(key string, l *Limit, def Limit) {
	if !c.ix.has(key) {
		*l = def
		return
	}
	c.checkLimit(key, *l)
}
