package muclight

import (
	"strconv"
	"strings"

	"github.com/gander-xmpp/gander/internal/config"
)

// field is one config_schema item (spec/muclight.md §4).
type field struct {
	Name, Key, Type string
	Default         string // rendered
}

// schema is the room configuration schema, sorted by field name.
type schema struct {
	fields []field
	byName map[string]int
	byKey  map[string]int
}

func newSchema(items []config.MucLightField) *schema {
	s := &schema{byName: map[string]int{}, byKey: map[string]int{}}
	for _, it := range items {
		f := field{Name: it.Field, Key: it.InternalKey, Type: it.Type()}
		if f.Key == "" {
			f.Key = f.Name
		}
		switch {
		case it.StringValue != nil:
			f.Default = *it.StringValue
		case it.IntegerValue != nil:
			f.Default = strconv.FormatInt(*it.IntegerValue, 10)
		case it.FloatValue != nil:
			f.Default = strconv.FormatFloat(*it.FloatValue, 'e', 20, 64)
		case it.BooleanValue != nil:
			f.Default = strconv.FormatBool(*it.BooleanValue)
		}
		if _, dup := s.byName[f.Name]; dup {
			continue
		}
		s.byName[f.Name] = len(s.fields)
		s.byKey[f.Key] = len(s.fields)
		s.fields = append(s.fields, f)
	}
	return s
}

// render parses a textual value of the field's type and renders it in
// canonical form (§4.2).
func render(typ, v string) (string, bool) {
	switch typ {
	case "integer":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatInt(n, 10), true
	case "float":
		if !strings.Contains(v, ".") {
			return "", false
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return "", false
		}
		return strconv.FormatFloat(f, 'e', 20, 64), true
	case "boolean":
		if v != "true" && v != "false" {
			return "", false
		}
		return v, true
	}
	return v, true
}

// dedup keeps one pair per key, the last value winning, in the order of
// first appearance (§4.3, D10).
func dedup(kvs []KV) []KV {
	idx := map[string]int{}
	var out []KV
	for _, kv := range kvs {
		if i, ok := idx[kv.Key]; ok {
			out[i].Value = kv.Value
			continue
		}
		idx[kv.Key] = len(out)
		out = append(out, kv)
	}
	return out
}

// delta validates de-duplicated pairs and renders their values.
func (s *schema) delta(kvs []KV) ([]KV, error) {
	kvs = dedup(kvs)
	out := make([]KV, 0, len(kvs))
	for _, kv := range kvs {
		i, ok := s.byName[kv.Key]
		if !ok {
			return nil, &ValidationError{Key: kv.Key, Reason: "not_found"}
		}
		v, ok := render(s.fields[i].Type, kv.Value)
		if !ok {
			return nil, &ValidationError{Key: kv.Key, Reason: "type_error"}
		}
		out = append(out, KV{Key: kv.Key, Value: v})
	}
	return out, nil
}

// full is delta plus the defaults of every field not given.
func (s *schema) full(kvs []KV) (map[string]string, error) {
	d, err := s.delta(kvs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(s.fields))
	for _, f := range s.fields {
		out[f.Name] = f.Default
	}
	for _, kv := range d {
		out[kv.Key] = kv.Value
	}
	return out, nil
}

// fill adds defaults for schema fields missing from a stored config.
func (s *schema) fill(cfg map[string]string) map[string]string {
	out := make(map[string]string, len(s.fields))
	for _, f := range s.fields {
		if v, ok := cfg[f.Name]; ok {
			out[f.Name] = v
		} else {
			out[f.Name] = f.Default
		}
	}
	return out
}

// byInternal returns the stored value of the field with internal key k.
func (s *schema) byInternal(cfg map[string]string, k string) (string, bool) {
	i, ok := s.byKey[k]
	if !ok {
		return "", false
	}
	v, ok := cfg[s.fields[i].Name]
	if !ok {
		v = s.fields[i].Default
	}
	return v, true
}
