package muclight

// Helpers for administrative callers (the GraphQL muc_light category,
// spec/muclight.md §15), which show configuration by internal key.

// InternalConfig returns a room's configuration (as GetRoom fills it)
// keyed by the fields' internal keys.
func (m *Module) InternalConfig(cfg map[string]string) map[string]string {
	out := make(map[string]string, len(cfg))
	for _, f := range m.schema.fields {
		if v, ok := cfg[f.Name]; ok {
			out[f.Key] = v
		} else {
			out[f.Key] = f.Default
		}
	}
	return out
}

// ConfigValue returns the value of the field whose internal key is key
// ("roomname", "subject"); false when the schema has no such field.
func (m *Module) ConfigValue(cfg map[string]string, key string) (string, bool) {
	return m.schema.byInternal(cfg, key)
}
