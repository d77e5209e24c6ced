package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/gander-xmpp/gander/internal/batch"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/xmlstream"
)

// taskKind is the kind of an asynchronous write (spec/inbox.md §10.4).
type taskKind int

const (
	kSet    taskKind = iota + 1 // absolute upsert
	kInc                        // increment upsert
	kReset                      // unread reset
	kRemove                     // move to bin
)

// task is one asynchronous write for one entry key.
type task struct {
	kind  taskKind
	count int // absolute count (kSet) or increment (kInc)
	msgID string
	// msg is the stored message, serialised only when a flush writes it:
	// most writes of a busy conversation are merged away before that. A
	// routed stanza is immutable (internal/xmlstream), so keeping it is
	// safe.
	msg *xmlstream.Element
	// to, when set, is the stored copy's to attribute, set on msg when it
	// is serialised (MUC Light: one room message, one copy per member).
	to  string
	ts  int64
	box string
	// resetMsg is the marker id of a conditional reset; nil for an
	// explicit reset.
	resetMsg *string
	// notify is the owner as it appears in the routed message (the from
	// of an auto-unarchive notification, §8.7); zero for other writes.
	notify jid.JID
	// log, when set, makes this the pending log of a MUC Light room (see
	// roomlog.go); the other fields are then unused.
	log *roomLog
}

// taskKey is the entry key the writer routes and aggregates on.
type taskKey struct {
	Owner  Owner
	Remote string
}

// content is the stored copy's serialisation ("" for none).
func (t task) content() string {
	switch {
	case t.msg == nil:
		return ""
	case t.to != "":
		return t.msg.WithAttr("to", t.to).String()
	}
	return t.msg.String()
}

// toPlaceholder stands for the to attribute in a copy template: plain
// ASCII that escaping leaves as it is.
const toPlaceholder = "gander-inbox-to-7d1c0e"

// storedCopies serialises the stored copies of a room message (a flush's,
// or one message's with rdbms): the copies of one message differ only in
// their to attribute, so the message is serialised once with a placeholder
// there and each copy is spliced from the two halves around it.
type storedCopies map[*xmlstream.Element]copyTemplate

// copyTemplate is a message serialised around its to attribute; ok is
// false when the placeholder could not be found exactly once.
type copyTemplate struct {
	before, after string
	ok            bool
}

// copyTo is the serialisation of msg with its to attribute set to to.
func (c storedCopies) copyTo(msg *xmlstream.Element, to string) string {
	tpl, seen := c[msg]
	if !seen {
		full := msg.WithAttr("to", toPlaceholder).String()
		// The placeholder must be there exactly once (a body quoting it
		// falls back to serialising every copy).
		if i := strings.Index(full, toPlaceholder); i >= 0 && strings.Count(full, toPlaceholder) == 1 {
			tpl = copyTemplate{full[:i], full[i+len(toPlaceholder):], true}
		}
		c[msg] = tpl
	}
	if !tpl.ok {
		return msg.WithAttr("to", to).String()
	}
	return tpl.before + xmlstream.EscapeAttr(to) + tpl.after
}

// content is t.content(), spliced from t.msg's template when t has a to.
func (c storedCopies) content(t task) string {
	if t.msg == nil || t.to == "" {
		return t.content()
	}
	return c.copyTo(t.msg, t.to)
}

func (t task) explicitReset() bool { return t.kind == kReset && t.resetMsg == nil }

func (t task) resetFor(id string) bool {
	return t.kind == kReset && t.resetMsg != nil && *t.resetMsg == id
}

// aggregate merges a newer task into a pending one, by the rules of
// spec/inbox.md §10.4 tried top to bottom. Rules 15 and 17a are Gander's
// fixes of the reference's merge bugs: an own message followed by an
// incoming one gives count c+k (not old+k on top of the stored count), and
// an explicit reset arriving while an increment is pending is kept; and a
// pending move to the bin survives newer message writes (stickyBin).
func aggregate(old, nw task) (task, error) {
	switch {
	case old.log != nil || nw.log != nil:
		return old, fmt.Errorf("inbox: cannot aggregate a room log with an entry write")
	case old.kind == kSet && nw.kind == kRemove, old.kind == kInc && nw.kind == kRemove: // 1, 2
		old.box = "bin"
		return old, nil
	case (old.kind == kReset || old.kind == kRemove) && nw.kind == kRemove: // 3
		return nw, nil
	case old.kind == kRemove && nw.kind == kReset: // 4
		return old, nil
	case old.kind == kRemove && (nw.kind == kSet || nw.kind == kInc): // 5, 6
		nw.box = "bin"
		return nw, nil
	case old.kind == kReset && nw.explicitReset(): // 7
		return nw, nil
	case old.explicitReset() && nw.kind == kReset: // 8
		return old, nil
	case old.kind == kReset && nw.kind == kReset: // 9
		return nw, nil
	case old.kind == kReset && nw.kind == kSet: // 10
		return nw, nil
	case old.kind == kReset && nw.kind == kInc: // 11
		nw.kind = kSet
		return nw, nil
	case old.kind == kSet && (nw.explicitReset() || nw.resetFor(old.msgID)): // 12, 13
		old.count = 0
		return old, nil
	case old.kind == kSet && nw.kind == kReset: // 14
		return old, nil
	case old.kind == kSet && nw.kind == kInc: // 15 (Gander)
		nw.kind, nw.count = kSet, old.count+nw.count
		if old.box == "bin" {
			nw.box = "bin"
		}
		return nw, nil
	case old.kind == kInc && (nw.resetFor(old.msgID) || nw.explicitReset()): // 16, 17a (Gander)
		old.kind, old.count = kSet, 0
		return old, nil
	case old.kind == kInc && nw.kind == kReset: // 17b
		return old, nil
	case old.kind == kInc && nw.kind == kInc: // 18 (bin: Gander)
		nw.count += old.count
		return stickyBin(old, nw), nil
	case old.kind == kInc && nw.kind == kSet && old.msgID == nw.msgID: // 19 (bin: Gander)
		return stickyBin(old, nw), nil
	case old.kind == 0 || nw.kind == 0:
		return old, fmt.Errorf("inbox: cannot aggregate task kinds %d and %d", old.kind, nw.kind)
	}
	return stickyBin(old, nw), nil // 20 (bin: Gander)
}

// stickyBin keeps a pending move to the bin in a newer message write
// (Gander): stored one after the other, the move puts the entry in the bin
// and the message's upsert leaves it there (§8.7); the reference's rules
// 18-20 take the newer write's box and lose the move.
func stickyBin(old, nw task) task {
	if old.box == "bin" && (nw.kind == kSet || nw.kind == kInc) {
		nw.box = "bin"
	}
	return nw
}

// merge is the writer's merge function: a room's log takes the newer log's
// segments, an entry write merges by aggregate. It runs on the sending
// session's goroutine, deep in its stack: keep its frame small.
func merge(old, nw task) (task, error) {
	if old.log != nil && nw.log != nil {
		old.log.appendLog(nw.log)
		return old, nil
	}
	return aggregate(old, nw)
}

// asyncWriter puts writes through internal/batch (the rdbms_async
// backend).
type asyncWriter struct {
	store Store
	w     *batch.Writer[taskKey, task]
	log   *slog.Logger
	// check, when set, is the module's auto-unarchive check
	// (Module.checkArchive), called before a flush's message writes;
	// the function it returns runs once they are stored.
	check func(ctx context.Context, ws []written) func(context.Context)
}

func newAsyncWriter(store Store, opts batch.Options) *asyncWriter {
	a := &asyncWriter{store: store, log: opts.Log}
	if a.log == nil {
		a.log = slog.Default()
	}
	a.w = batch.New(opts, a.flush, merge)
	return a
}

// entries turns a batch into one write per entry, in order: room logs are
// expanded into their members' writes.
func (a *asyncWriter) entries(items []batch.Item[taskKey, task]) *entryWrites {
	w := newEntryWrites(len(items))
	var errs []error
	for _, it := range items {
		if it.Value.log != nil {
			errs = append(errs, it.Value.log.expand(it.Key.Remote, w)...)
		} else if err := w.add(it.Key, it.Value); err != nil {
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		a.log.Error("inbox: flush: writes not merged, newer one dropped", "err", err)
	}
	return w
}

// flush applies a batch with a few multi-row statements: one upsert per
// kind of count (absolute, increment), one reset and one move to the bin;
// before the upserts, the auto-unarchive check reads the previous boxes of
// the entries not known to be out of the archive (check).
// Each key appears once in a batch, so the statements commute. Every
// operation is idempotent under retry: the upserts are guarded by their
// timestamp, resets and moves to the bin set absolute values.
func (a *asyncWriter) flush(ctx context.Context, items []batch.Item[taskKey, task]) error {
	var ups []OwnedUpsert
	var msgs []written
	var resets []OwnedReset
	var bins []EntryKey
	copies := storedCopies{}
	w := a.entries(items)
	for _, k := range w.order {
		t := w.byKey[k]
		switch t.kind {
		case kSet, kInc:
			ups = append(ups, OwnedUpsert{k.Owner, Upsert{Remote: k.Remote, MsgID: t.msgID, Content: copies.content(t),
				Timestamp: t.ts, Count: t.count, Incr: t.kind == kInc, Box: t.box}})
			msgs = append(msgs, written{k, t})
		case kReset:
			resets = append(resets, OwnedReset{EntryKey(k), t.resetMsg, t.ts})
		case kRemove:
			bins = append(bins, EntryKey(k))
		}
	}
	if len(ups) > 0 {
		var checked func(context.Context)
		if a.check != nil {
			checked = a.check(ctx, msgs)
		}
		if err := a.store.UpsertMany(ctx, ups); err != nil {
			return err
		}
		if checked != nil {
			// Before the other statements: a retried flush reads the
			// boxes again and does not notify twice.
			checked(ctx)
		}
	}
	if len(resets) > 0 {
		if err := a.store.ResetMany(ctx, resets); err != nil {
			return err
		}
	}
	if len(bins) > 0 {
		return a.store.MoveManyToBin(ctx, bins)
	}
	return nil
}
