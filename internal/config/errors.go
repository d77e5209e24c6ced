package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by every *Error that reports a key the
// configuration schema does not know (including unsupported modules and HTTP
// handler types).
var ErrUnknownKey = errors.New("unknown key")

// ErrNotImplemented is wrapped by every *Error that refuses a key because
// Gander does not implement what it asks for yet.
var ErrNotImplemented = errors.New("not implemented")

// Error is one problem found in a configuration file. Parse returns either a
// single *Error or several of them joined with errors.Join; use errors.As to
// get at the first one, or AsErrors to get all of them.
type Error struct {
	// File is the file name given to Parse (the path given to Load).
	File string
	// Line is the 1-based line of the offending key or value; 0 when the
	// problem has no place in the file (for example a required section that
	// is missing altogether).
	Line int
	// Col is the 1-based column (in bytes); 0 when unknown.
	Col int
	// Key is the full dotted key, with array-of-tables indexes, for example
	// "listen.c2s[0].port"; empty for syntax errors that precede any key.
	Key string
	// Msg describes the problem.
	Msg string
	// Warning marks a warning (Config.Warnings) rather than an error.
	Warning bool

	unknown bool
	notImpl bool
}

const msgUnknownKey = "unknown key"

// Error formats the problem as "file:line:col: key: msg", or as
// "file:line:col: unknown key K" for keys the schema does not know.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	if e.Warning {
		b.WriteString("warning: ")
	}
	switch {
	case e.unknown && strings.HasPrefix(e.Msg, msgUnknownKey):
		// Reads better as "unknown key listen.c2s[0].prot (did you mean ...)".
		b.WriteString(msgUnknownKey + " " + e.Key + e.Msg[len(msgUnknownKey):])
	case e.Key != "":
		b.WriteString(e.Key)
		b.WriteString(": ")
		b.WriteString(e.Msg)
	default:
		b.WriteString(e.Msg)
	}
	return b.String()
}

// Unwrap returns ErrUnknownKey for unknown-key errors and
// ErrNotImplemented for keys Gander does not implement yet, so that
// errors.Is works.
func (e *Error) Unwrap() error {
	switch {
	case e.unknown:
		return ErrUnknownKey
	case e.notImpl:
		return ErrNotImplemented
	}
	return nil
}

// AsErrors returns every *Error contained in err (which may be a single
// *Error or an errors.Join of them), in the order they were reported.
func AsErrors(err error) []*Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			var out []*Error
			for _, sub := range j.Unwrap() {
				out = append(out, AsErrors(sub)...)
			}
			return out
		}
		return []*Error{e}
	}
	return nil
}
