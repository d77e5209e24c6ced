package config

import (
	"reflect"
	"strings"
)

// checkTableKinds reports table headers of the wrong kind: [listen.c2s]
// where the schema has an array of tables ([[listen.c2s]]), or
// [[modules.mod_roster]] where it has a single table. The decoder's own
// messages for these mistakes point somewhere else.
func (c *checker) checkTableKinds() {
	reported := map[string]bool{}
	for _, h := range c.ix.headers {
		plain := stripIndexes(h.path)
		t := typeAt(plain)
		if t == nil || reported[plain] {
			continue
		}
		wantArray := t.Kind() == reflect.Slice && isTable(t.Elem())
		switch {
		case wantArray && !h.array:
			reported[plain] = true
			c.errorf(h.path, "is an array of tables: write [[%s]] (one such header per entry), not [%s]", plain, plain)
		case !wantArray && h.array && isTable(t):
			reported[plain] = true
			c.errorf(h.path, "is a single table: write [%s], not [[%s]]", plain, plain)
		}
	}
}

// typeAt returns the Go type the schema gives to a key (array indexes
// left out), or nil when the schema does not describe it.
func typeAt(plain string) reflect.Type {
	t := reflect.TypeFor[Config]()
	for _, part := range splitKey(plain) {
		part = strings.Trim(part, `"`)
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByTOMLName(t, part)
			if !ok {
				return nil
			}
			t = f.Type
		case reflect.Map:
			t = t.Elem()
		default:
			return nil
		}
	}
	return t
}

func isTable(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
}
