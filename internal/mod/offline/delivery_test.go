package offline

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/gander-xmpp/gander/internal/config"
	"github.com/gander-xmpp/gander/internal/hooks"
	"github.com/gander-xmpp/gander/internal/jid"
)

// deleteRecorder is a Store that records deletions (the rest is unused).
type deleteRecorder struct {
	*SQLStore // never called
	mu        sync.Mutex
	deletes   []int64
}

func (r *deleteRecorder) Delete(_ context.Context, _, _ string, upTo int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deletes = append(r.deletes, upTo)
	return nil
}

type countMetrics struct {
	mu        sync.Mutex
	delivered int
}

func (c *countMetrics) OfflineStored() {}
func (c *countMetrics) OfflineDelivered(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered += n
}

// TestDeliveryDeletesTheDeliveredPrefix: a stored message is deleted only
// when it and every message before it were delivered; a failed message
// keeps itself and everything after it stored, even what was delivered.
func TestDeliveryDeletesTheDeliveredPrefix(t *testing.T) {
	store := &deleteRecorder{}
	met := &countMetrics{}
	m, err := New(Deps{Store: store, Hooks: &hooks.Hooks{}, Metrics: met}, config.ModOffline{})
	require.NoError(t, err)
	require.NoError(t, m.Start(context.Background()))
	d := &delivery{m: m, user: jid.MustParse("bob@localhost")}
	a, b := d.add(10, pending), d.add(20, pending)
	d.add(25, delivered) // unreadable: deleted with its neighbours
	c, e := d.add(30, pending), d.add(40, pending)
	d.done(b, true) // 10 is still pending: nothing can go
	m.wg.Wait()
	require.Empty(t, store.deletes)
	d.done(a, true) // 10, 20, 25
	d.done(e, true) // after 30, which is pending
	d.done(c, false)
	require.NoError(t, m.Stop(context.Background()))
	require.NotEmpty(t, store.deletes)
	require.Equal(t, int64(25), slices.Max(store.deletes), "30 failed: nothing from 30 on is deleted")
	require.Equal(t, 3, met.delivered)
}
