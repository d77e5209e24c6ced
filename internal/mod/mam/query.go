package mam

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// The query (XEP-0313 §4; docs/modules/mod_mam.md, "Queries"): a data
// form of filters (with, start, end, before-id, after-id, ids, fulltext,
// include-groupchat, simple) and RSM paging (XEP-0059) in both
// directions, with flip-page.

// maxSearchWords is the most words a full-text search uses.
const maxSearchWords = 10

// Query is a parsed archive query.
type Query struct {
	// QueryID is copied into every result.
	QueryID string
	Filter  Filter
	// Max is the requested page size, -1 when the request gave none.
	Max int
	// Index skips rows (RSM <index/>), -1 when not given.
	Index int
	// AfterID and BeforeID are the RSM cursors (0: none); Backward is true
	// for <before/> (empty or not).
	AfterID, BeforeID int64
	Backward          bool
	// Flip sends the page newest first (<flip-page/>).
	Flip bool
	// Simple leaves out count and index.
	Simple bool
}

// Page is the answer to a query.
type Page struct {
	// Rows are in the order they are sent.
	Rows []Row
	// Count is the size of the result set and Index the rows of the set
	// before the page; both -1 for simple queries.
	Count, Index int
	// Complete is true when the page reaches the end of the set in its
	// direction.
	Complete bool
}

// parseQuery reads a <query/> set: its form and RSM. Errors are stanza
// errors (errors.go).
func (p *part) parseQuery(q *xmlstream.Element) (Query, error) {
	out := Query{QueryID: q.Attr("queryid"), Max: -1, Index: -1}
	if x := q.Child(nsData, "x"); x != nil {
		for _, f := range x.Elements() {
			if f.Local != "field" {
				continue
			}
			var vals []string
			for _, v := range f.Elements() {
				if v.Local == "value" {
					vals = append(vals, v.Text())
				}
			}
			if err := p.formField(&out, f.Attr("var"), vals); err != nil {
				return Query{}, err
			}
		}
	}
	if set := q.Child(nsRSM, "set"); set != nil {
		if err := parseRSM(&out, set); err != nil {
			return Query{}, err
		}
	}
	for _, c := range q.Elements() {
		if c.Local == "flip-page" {
			out.Flip = true
		}
	}
	if p.opts.EnforceSimpleQueries {
		out.Simple = true
	}
	return out, nil
}

// formField applies one submitted field; unknown fields are ignored.
func (p *part) formField(q *Query, name string, vals []string) error {
	one := ""
	if len(vals) > 0 {
		one = strings.TrimSpace(vals[0])
	}
	switch name {
	case "with":
		j, err := jid.Parse(one)
		if err != nil || one == "" {
			return badRequest("Invalid with value")
		}
		if p.kind == KindMuc && j.Resource() != "" {
			// Room archives: room/nick names an author by nick.
			q.Filter.Resource = j.Resource()
			return nil
		}
		q.Filter.With = remoteBare(j)
		q.Filter.Resource = j.Resource()
	case "start", "end":
		t, err := time.Parse(time.RFC3339Nano, one)
		if err != nil {
			return badRequest("Invalid " + name + " value")
		}
		if name == "start" {
			q.Filter.Min = firstID(ceilMicros(t))
		} else {
			q.Filter.Max = lastID(t.UnixMicro())
		}
	case "after-id", "before-id":
		id, ok := DecodeID(one)
		if !ok {
			return errInvalidID
		}
		if name == "after-id" {
			q.Filter.After = id
		} else {
			q.Filter.Before = id
		}
	case "ids":
		if len(vals) > p.opts.MaxResultLimit {
			return badRequest("Too many ids: at most " + strconv.Itoa(p.opts.MaxResultLimit))
		}
		q.Filter.IDs = []int64{}
		for _, v := range vals {
			id, ok := DecodeID(strings.TrimSpace(v))
			if !ok {
				return errInvalidID
			}
			if !slices.Contains(q.Filter.IDs, id) {
				q.Filter.IDs = append(q.Filter.IDs, id)
			}
		}
	case "{urn:xmpp:fulltext:0}fulltext", "full-text-search":
		if !p.opts.FullTextSearch {
			return errNoFulltext
		}
		ws := words(strings.Join(vals, " "))
		if len(ws) > maxSearchWords {
			ws = ws[:maxSearchWords]
		}
		q.Filter.Words = ws
	case "include-groupchat":
		q.Filter.NoGroupchat = one == "false" || one == "0"
	case "simple":
		q.Simple = one == "true" || one == "1"
	}
	return nil
}

// ceilMicros is t in µs, rounded up: an inclusive start bound.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Sub(time.UnixMicro(us)) > 0 {
		us++
	}
	return us
}

// parseRSM reads <set xmlns='http://jabber.org/protocol/rsm'/>.
func parseRSM(q *Query, set *xmlstream.Element) error {
	num := func(el *xmlstream.Element, what string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(el.Text()))
		if err != nil || n < 0 {
			return 0, badRequest("Invalid RSM " + what)
		}
		return n, nil
	}
	for _, c := range set.Elements() {
		var err error
		switch c.Local {
		case "max":
			q.Max, err = num(c, "max")
		case "index":
			q.Index, err = num(c, "index")
		case "after":
			id, ok := DecodeID(strings.TrimSpace(c.Text()))
			if !ok {
				return errInvalidID
			}
			q.AfterID = id
		case "before":
			q.Backward = true
			if t := strings.TrimSpace(c.Text()); t != "" {
				id, ok := DecodeID(t)
				if !ok {
					return errInvalidID
				}
				q.BeforeID = id
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pageSize is min(max_result_limit, <max/> or default_result_limit).
func (p *part) pageSize(q Query) int {
	n := p.opts.DefaultResultLimit
	if q.Max >= 0 {
		n = q.Max
	}
	return min(n, p.opts.MaxResultLimit)
}

// only narrows f to the row id (a cursor's membership check).
func only(f Filter, id int64) Filter {
	f.Min = max(f.Min, id)
	if f.Max == 0 || f.Max > id {
		f.Max = id
	}
	return f
}

// lower and upper tighten exclusive bounds.
func above(cur, id int64) int64 { return max(cur, id) }
func below(cur, id int64) int64 {
	if cur == 0 || id < cur {
		return id
	}
	return cur
}

// lookup runs q on owner's archive (0: an archive never written, which is
// empty). Queued rows of the archive are written first (read your
// writes).
func (p *part) lookup(ctx context.Context, owner int64, host string, q Query) (Page, error) {
	start := time.Now()
	p.met.lookups.WithLabelValues(host).Inc()
	if q.Simple && p.met.simple != nil {
		p.met.simple.WithLabelValues(host).Inc()
	}
	page, err := p.run(ctx, owner, q)
	if err == nil {
		p.met.lookupSize.WithLabelValues(host).Observe(float64(len(page.Rows)))
		p.met.lookupTime.WithLabelValues(host).Observe(float64(time.Since(start).Microseconds()))
	}
	return page, err
}

func (p *part) run(ctx context.Context, owner int64, q Query) (Page, error) {
	st := p.m.store
	size := p.pageSize(q)
	if owner != 0 {
		if err := p.w.sync(ctx, owner); err != nil {
			return Page{}, err
		}
	}
	f := q.Filter
	exists := func(fl Filter, id int64) error {
		if owner == 0 {
			return errNotFound
		}
		n, err := st.Count(ctx, p.kind, owner, only(fl, id))
		if err == nil && n == 0 {
			err = errNotFound
		}
		return err
	}
	// Every id of the ids field must be a row of the archive.
	if len(f.IDs) > 0 {
		if owner == 0 {
			return Page{}, errNotFound
		}
		n, err := st.Count(ctx, p.kind, owner, Filter{IDs: f.IDs})
		if err != nil {
			return Page{}, err
		}
		if n != len(f.IDs) {
			return Page{}, errNotFound
		}
	}
	// RSM cursors must be rows of the result set (also with simple).
	for _, id := range []int64{q.AfterID, q.BeforeID} {
		if id != 0 {
			if err := exists(f, id); err != nil {
				return Page{}, err
			}
		}
	}
	out := Page{Count: -1, Index: -1}
	var rows []Row
	var err error
	sel := f
	if q.AfterID != 0 {
		sel.After = above(sel.After, q.AfterID)
	}
	if q.BeforeID != 0 {
		sel.Before = below(sel.Before, q.BeforeID)
	}
	if owner != 0 {
		offset := 0
		if !q.Backward && q.AfterID == 0 && q.Index > 0 {
			offset = q.Index
		}
		rows, err = st.Select(ctx, p.kind, owner, sel, q.Backward, size+1, offset)
		if err != nil {
			return Page{}, err
		}
	}
	out.Complete = len(rows) <= size
	if !out.Complete {
		rows = rows[:size]
	}
	if q.Backward {
		slices.Reverse(rows)
	}
	if !q.Simple {
		if owner != 0 {
			if out.Count, err = st.Count(ctx, p.kind, owner, f); err != nil {
				return Page{}, err
			}
		} else {
			out.Count = 0
		}
		switch {
		case len(rows) == 0:
			out.Index = 0
		case q.Backward && q.BeforeID == 0:
			out.Index = out.Count - len(rows)
		case !q.Backward && q.AfterID == 0:
			out.Index = max(q.Index, 0)
		default:
			before := f
			before.Before = below(before.Before, rows[0].ID)
			if out.Index, err = st.Count(ctx, p.kind, owner, before); err != nil {
				return Page{}, err
			}
		}
	}
	if q.Flip {
		slices.Reverse(rows)
	}
	out.Rows = rows
	return out, nil
}
