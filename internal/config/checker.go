package config

import (
	"fmt"
	"slices"
	"strings"
)

// checker applies defaults and validates a decoded Config. It reports every
// problem it finds, each located through the key index.
type checker struct {
	file  string
	ix    *keyIndex
	errs  []error
	warns []*Error
}

// errorf records a problem with key.
func (c *checker) errorf(key, format string, args ...any) {
	p := c.ix.lookup(key)
	c.errs = append(c.errs, &Error{File: c.file, Line: p.Line, Col: p.Col, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// warnf records a warning about key: the file loads, and check-config and
// serve print the warning.
func (c *checker) warnf(key, format string, args ...any) {
	p := c.ix.lookup(key)
	c.warns = append(c.warns, &Error{File: c.file, Line: p.Line, Col: p.Col, Key: key, Msg: fmt.Sprintf(format, args...), Warning: true})
}

// oneOf applies def when *v is empty and checks that *v is one of allowed.
func (c *checker) oneOf(key string, v *string, def string, allowed ...string) {
	if *v == "" && !c.ix.has(key) {
		*v = def
	}
	if *v == "" && def == "" {
		return
	}
	if !slices.Contains(allowed, *v) {
		c.errorf(key, "must be one of %s, got %q", quoteList(allowed), *v)
	}
}

// listOf checks that every element of vs is one of allowed and that there
// are no duplicates.
func (c *checker) listOf(key string, vs []string, allowed ...string) {
	seen := map[string]bool{}
	for i, v := range vs {
		k := fmt.Sprintf("%s[%d]", key, i)
		if allowed != nil && !slices.Contains(allowed, v) {
			c.errorf(k, "must be one of %s, got %q", quoteList(allowed), v)
		}
		if seen[v] {
			c.errorf(k, "duplicate value %q", v)
		}
		seen[v] = true
	}
}

// intDefault applies def when key is absent and checks *v >= min.
func (c *checker) intDefault(key string, v *int, def, min int) {
	if !c.ix.has(key) {
		*v = def
		return
	}
	if *v < min {
		if min == 1 {
			c.errorf(key, "must be a positive integer, got %d", *v)
		} else {
			c.errorf(key, "must be an integer >= %d, got %d", min, *v)
		}
	}
}

// boolDefault applies def when key is absent (for options whose default is
// true, where the zero value cannot tell "unset" from "false").
func (c *checker) boolDefault(key string, v *bool, def bool) {
	if !c.ix.has(key) {
		*v = def
	}
}

// stringDefault applies def when key is absent and refuses an empty
// string.
func (c *checker) stringDefault(key string, v *string, def string) {
	if !c.ix.has(key) {
		*v = def
	} else if *v == "" {
		c.errorf(key, "must not be empty")
	}
}

// required reports key when v is empty.
func (c *checker) required(key, v string) bool {
	if v == "" {
		c.errorf(key, "is required")
		return false
	}
	return true
}

func quoteList(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}
