package mam

import (
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Archive ids (docs/modules/mod_mam.md, "Ids"): a 64-bit integer
// (µs << 8) | node, where µs is the server time the stanza was archived, in
// microseconds since the epoch, strictly increasing on a node, and node
// (0–255) the node that assigned it. Ids are unique and sorted by time. On
// the wire an id is written in base 32 with the digits 0-9 then A-V, no
// padding: every id issued between 2001 and 2112 has 12 characters, so that
// string order, numeric order and time order agree.

// idGen issues archive ids. It is safe for concurrent use.
type idGen struct {
	node uint8
	now  func() time.Time
	last atomic.Int64 // the µs part of the last id issued
}

// next returns a fresh id: the current time in µs, or the last value + 1
// when the clock has not moved past it.
func (g *idGen) next() int64 {
	now := g.now().UnixMicro()
	for {
		last := g.last.Load()
		us := max(now, last+1)
		if g.last.CompareAndSwap(last, us) {
			return us<<8 | int64(g.node)
		}
	}
}

// idMicros is the archiving time of an id, in µs since the epoch.
func idMicros(id int64) int64 { return id >> 8 }

// idTime is the archiving time of an id.
func idTime(id int64) time.Time { return time.UnixMicro(idMicros(id)).UTC() }

// firstID is the smallest id of the microsecond us, lastID the largest:
// the id bounds of an inclusive time range.
func firstID(us int64) int64 { return us << 8 }
func lastID(us int64) int64  { return us<<8 | 255 }

// EncodeID writes an archive id in base 32, digits 0-9A-V.
func EncodeID(id int64) string {
	return strings.ToUpper(strconv.FormatInt(id, 32))
}

// DecodeID parses an archive id written in base 32, in either letter case.
// It fails for anything that is not a base-32 number from 0 to 2^63 − 1.
func DecodeID(s string) (int64, bool) {
	if s == "" || len(s) > 13 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'v' || c >= 'A' && c <= 'V') {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 32, 64)
	if err != nil {
		return 0, false
	}
	return v, true
}

// stamp formats µs as RFC 3339 UTC with six fractional digits (XEP-0082).
func stamp(us int64) string {
	return time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.000000Z")
}
