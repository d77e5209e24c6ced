package inbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gander-xmpp/gander/internal/metrics"
)

// meteredStore counts and times every backend call (spec/inbox.md §13):
// mod_inbox_backend_count and mod_inbox_backend_time (µs), labelled by
// function and host_type (the owner's domain, "global" for global calls).
type meteredStore struct {
	s     Store
	count *prometheus.CounterVec
	time  *prometheus.HistogramVec
}

func newMeteredStore(s Store, r *metrics.Registry) *meteredStore {
	m := &meteredStore{s: s, count: r.Spiral("mod_inbox_backend", "count", "host_type", "function"),
		time: r.Histogram("mod_inbox_backend", "time", "host_type", "function")}
	return m
}

func (m *meteredStore) observe(hostType, function string, start time.Time) {
	if hostType == "" {
		hostType = "global"
	}
	l := prometheus.Labels{"host_type": hostType, "function": function}
	m.count.With(l).Inc()
	m.time.With(l).Observe(float64(time.Since(start).Microseconds()))
}

func (m *meteredStore) Upsert(ctx context.Context, o Owner, u Upsert) (bool, error) {
	fn := "set_inbox"
	if u.Incr {
		fn = "set_inbox_incr_unread"
	}
	defer m.observe(o.LServer, fn, time.Now())
	return m.s.Upsert(ctx, o, u)
}

func (m *meteredStore) ResetUnread(ctx context.Context, o Owner, remote string, msgID *string, ts int64) error {
	defer m.observe(o.LServer, "reset_unread", time.Now())
	return m.s.ResetUnread(ctx, o, remote, msgID, ts)
}

func (m *meteredStore) Get(ctx context.Context, o Owner, remote string) (Entry, error) {
	defer m.observe(o.LServer, "get_full_entry", time.Now())
	return m.s.Get(ctx, o, remote)
}

func (m *meteredStore) Props(ctx context.Context, o Owner, remote string) (Props, error) {
	defer m.observe(o.LServer, "get_entry_properties", time.Now())
	return m.s.Props(ctx, o, remote)
}

func (m *meteredStore) Lookup(ctx context.Context, o Owner, p Params) ([]Entry, error) {
	defer m.observe(o.LServer, "get_inbox", time.Now())
	return m.s.Lookup(ctx, o, p)
}

func (m *meteredStore) SetProps(ctx context.Context, o Owner, remote string, p SetProps) (Props, error) {
	defer m.observe(o.LServer, "set_entry_properties", time.Now())
	return m.s.SetProps(ctx, o, remote, p)
}

func (m *meteredStore) Remove(ctx context.Context, o Owner, remote string) error {
	defer m.observe(o.LServer, "remove_inbox_row", time.Now())
	return m.s.Remove(ctx, o, remote)
}

func (m *meteredStore) MoveToBin(ctx context.Context, o Owner, remote string) error {
	defer m.observe(o.LServer, "move_conversation_to_bin", time.Now())
	return m.s.MoveToBin(ctx, o, remote)
}

func (m *meteredStore) RemoveUser(ctx context.Context, o Owner) error {
	defer m.observe(o.LServer, "remove_user_inbox", time.Now())
	return m.s.RemoveUser(ctx, o)
}

func (m *meteredStore) EmptyUserBin(ctx context.Context, o Owner, before int64) (int, error) {
	defer m.observe(o.LServer, "empty_user_bin", time.Now())
	return m.s.EmptyUserBin(ctx, o, before)
}

func (m *meteredStore) EmptyGlobalBin(ctx context.Context, before int64) (int, error) {
	defer m.observe("global", "empty_global_bin", time.Now())
	return m.s.EmptyGlobalBin(ctx, before)
}
