package mam

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/stanza"
)

func testPart(kind Kind) *part {
	return &part{kind: kind, opts: config.MamOptions{DefaultResultLimit: 50, MaxResultLimit: 50, FullTextSearch: true}}
}

// TestParseQuery: form fields and RSM become a Query; bad input gives the
// errors of docs/modules/mod_mam.md, "Errors".
func TestParseQuery(t *testing.T) {
	p := testPart(KindPM)
	q, err := parseQ(p, `<query xmlns='urn:xmpp:mam:2' queryid='f1'><x xmlns='jabber:x:data' type='submit'>`+
		`<field var='FORM_TYPE'><value>urn:xmpp:mam:2</value></field>`+
		`<field var='with'><value>Carol@Example.com/Laptop</value></field>`+
		`<field var='start'><value>2026-03-01T00:00:00Z</value></field>`+
		`<field var='end'><value>2026-03-01T00:00:01.5+01:00</value></field>`+
		`<field var='unknown'><value>ignored</value></field>`+
		`<field var='{urn:xmpp:fulltext:0}fulltext'><value>Two words</value></field>`+
		`</x><set xmlns='http://jabber.org/protocol/rsm'><max>20</max><before/></set><flip-page/></query>`)
	require.NoError(t, err)
	require.Equal(t, "f1", q.QueryID)
	require.Equal(t, "carol@example.com", q.Filter.With)
	require.Equal(t, "Laptop", q.Filter.Resource)
	require.Equal(t, firstID(1772323200000000), q.Filter.Min)
	require.Equal(t, lastID(1772319601500000), q.Filter.Max)
	require.Equal(t, []string{"two", "words"}, q.Filter.Words)
	require.Equal(t, 20, q.Max)
	require.True(t, q.Backward)
	require.Zero(t, q.BeforeID)
	require.True(t, q.Flip)
	require.Equal(t, 20, p.pageSize(q))
	q, err = parseQ(p, `<query xmlns='urn:xmpp:mam:2'><set xmlns='http://jabber.org/protocol/rsm'><max>1000</max></set></query>`)
	require.NoError(t, err)
	require.Equal(t, 50, p.pageSize(q), "max_result_limit")

	for _, tc := range []struct {
		name, inner string
		cond        stanza.Condition
	}{
		{"bad with", field("with", "@x"), stanza.BadRequest},
		{"empty with", field("with", ""), stanza.BadRequest},
		{"bad start", field("start", "2026-03-01"), stanza.BadRequest},
		{"bad end", field("end", "never"), stanza.BadRequest},
		{"bad after-id", field("after-id", "!"), stanza.NotAcceptable},
		{"bad ids", field("ids", "x y"), stanza.NotAcceptable},
		{"bad max", `<set xmlns='http://jabber.org/protocol/rsm'><max>1.5</max></set>`, stanza.BadRequest},
		{"bad index", `<set xmlns='http://jabber.org/protocol/rsm'><index>-2</index></set>`, stanza.BadRequest},
		{"bad after", `<set xmlns='http://jabber.org/protocol/rsm'><after>???</after></set>`, stanza.NotAcceptable},
		{"bad before", `<set xmlns='http://jabber.org/protocol/rsm'><before>-</before></set>`, stanza.NotAcceptable},
	} {
		_, err := parseQ(p, `<query xmlns='urn:xmpp:mam:2'>`+tc.inner+`</query>`)
		var se stanza.Error
		require.True(t, errors.As(err, &se), tc.name)
		require.Equal(t, tc.cond, se.Condition, tc.name)
	}
	p.opts.FullTextSearch = false
	_, err = parseQ(p, `<query xmlns='urn:xmpp:mam:2'>`+field("full-text-search", "x")+`</query>`)
	require.Equal(t, errNoFulltext, err)

	room := testPart(KindMuc)
	q, err = parseQ(room, `<query xmlns='urn:xmpp:mam:2'>`+field("with", "den@muclight.localhost/alice@localhost")+`</query>`)
	require.NoError(t, err)
	require.Equal(t, "", q.Filter.With)
	require.Equal(t, "alice@localhost", q.Filter.Resource, "a room's with names a nick")
}

func field(name, value string) string {
	return `<x xmlns='jabber:x:data' type='submit'><field var='` + name + `'><value>` + value + `</value></field></x>`
}

func parseQ(p *part, xml string) (Query, error) {
	el, err := parseStanza(xml)
	if err != nil {
		return Query{}, err
	}
	return p.parseQuery(el)
}

// FuzzParseQuery: any query element parses into a Query or a stanza
// error, never a panic.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		`<query xmlns='urn:xmpp:mam:2'/>`,
		`<query xmlns='urn:xmpp:mam:2' queryid='q'>` + field("with", "a@b/c") + `<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><after>BO7CH1JOF801</after></set></query>`,
		`<query xmlns='urn:xmpp:mam:2'>` + field("ids", "BO7CH1JOF801") + `<set xmlns='http://jabber.org/protocol/rsm'><before/><index>3</index></set><flip-page/></query>`,
		`<query xmlns='urn:xmpp:mam:2'>` + field("start", "2026-03-01T00:00:00Z") + `</query>`,
	} {
		f.Add(s)
	}
	p := testPart(KindPM)
	f.Fuzz(func(t *testing.T, s string) {
		el, err := parseStanza(s)
		if err != nil {
			return
		}
		q, err := p.parseQuery(el)
		if err != nil {
			var se stanza.Error
			if !errors.As(err, &se) {
				t.Fatalf("%q: a non-stanza error %v", s, err)
			}
			return
		}
		if n := p.pageSize(q); n < 0 || n > p.opts.MaxResultLimit {
			t.Fatalf("%q: page size %d", s, n)
		}
	})
}
