package hooks

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestChainRunWhileChanging runs a chain while other goroutines add and
// remove handlers. Every Run must see one consistent list: the three
// permanent handlers exactly once each, in priority order, whatever is
// added or removed meanwhile. The list used to be sorted and filtered in
// place under Run's feet, which -race reports and which could make Run
// call a handler twice or skip one.
func TestChainRunWhileChanging(t *testing.T) {
	var c Chain[[]string]
	for _, h := range []struct {
		prio int
		name string
	}{{10, "a"}, {20, "b"}, {30, "c"}} {
		c.Add(h.prio, h.name, func(_ context.Context, ev *[]string) bool {
			*ev = append(*ev, h.name)
			return false
		})
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, prio := range []int{5, 15, 25, 35} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				c.Add(prio, "transient", func(context.Context, *[]string) bool { return false })
				c.Remove("transient")
			}
		}()
	}
	for range 20000 {
		var got []string
		c.Run(context.Background(), &got)
		if !slices.Equal(got, []string{"a", "b", "c"}) {
			close(stop)
			wg.Wait()
			t.Fatalf("Run called %v, want [a b c]", got)
		}
	}
	close(stop)
	wg.Wait()
	if n := c.Len(); n != 3 {
		t.Fatalf("Len = %d after the transient handlers left, want 3", n)
	}
}

// TestChainOrderAndStop checks the chain's contract: ascending priority,
// ties in registration order, and a handler returning true stops it.
func TestChainOrderAndStop(t *testing.T) {
	var c Chain[[]string]
	add := func(prio int, name string, stop bool) {
		c.Add(prio, name, func(_ context.Context, ev *[]string) bool {
			*ev = append(*ev, name)
			return stop
		})
	}
	add(50, "late", false)
	add(10, "first", false)
	add(50, "late2", true)
	add(90, "never", false)
	var got []string
	if !c.Run(context.Background(), &got) {
		t.Fatal("Run reported no stop")
	}
	if want := []string{"first", "late", "late2"}; !slices.Equal(got, want) {
		t.Fatalf("Run called %v, want %v", got, want)
	}
	c.Remove("late2")
	got = nil
	if c.Run(context.Background(), &got) {
		t.Fatal("Run reported a stop after the stopping handler left")
	}
	if want := []string{"first", "late", "never"}; !slices.Equal(got, want) {
		t.Fatalf("after Remove, Run called %v, want %v", got, want)
	}
}

// TestChainRemove: Remove takes out every handler registered under the
// name and nothing else; an unknown name and an empty chain are no-ops.
func TestChainRemove(t *testing.T) {
	var c Chain[[]string]
	require.False(t, c.Run(context.Background(), new([]string)), "a zero chain runs nothing")
	c.Remove("nobody")
	require.Zero(t, c.Len())
	for _, h := range []struct {
		prio int
		name string
	}{{10, "carbons"}, {20, "inbox"}, {30, "carbons"}, {40, "offline"}} {
		c.Add(h.prio, h.name, func(_ context.Context, ev *[]string) bool {
			*ev = append(*ev, fmt.Sprint(h.name, h.prio))
			return false
		})
	}
	c.Remove("carbons")
	c.Remove("unknown")
	require.Equal(t, 2, c.Len())
	var got []string
	require.False(t, c.Run(context.Background(), &got))
	require.Equal(t, []string{"inbox20", "offline40"}, got)
	c.Remove("inbox")
	c.Remove("offline")
	got = nil
	require.False(t, c.Run(context.Background(), &got))
	require.Empty(t, got)
}

// TestChainRunKeepsItsList: a handler that adds or removes handlers while
// the chain runs changes the next Run, not the one under way; the stop of
// the one under way still ends it.
func TestChainRunKeepsItsList(t *testing.T) {
	var c Chain[[]string]
	record := func(name string, stop bool) func(context.Context, *[]string) bool {
		return func(_ context.Context, ev *[]string) bool {
			*ev = append(*ev, name)
			return stop
		}
	}
	c.Add(10, "changer", func(ctx context.Context, ev *[]string) bool {
		*ev = append(*ev, "changer")
		c.Add(15, "added", record("added", false))
		c.Remove("removed")
		return false
	})
	c.Add(20, "removed", record("removed", false))
	c.Add(30, "stopper", record("stopper", true))
	c.Add(40, "after-stop", record("after-stop", false))

	var first []string
	require.True(t, c.Run(context.Background(), &first))
	require.Equal(t, []string{"changer", "removed", "stopper"}, first)

	c.Remove("changer")
	var second []string
	require.True(t, c.Run(context.Background(), &second))
	require.Equal(t, []string{"added", "stopper"}, second)
}

// TestHooksZeroValue: every chain of a zero Hooks is ready to use.
func TestHooksZeroValue(t *testing.T) {
	var h Hooks
	ev := &StanzaEvent{}
	require.False(t, h.OfflineMessage.Run(context.Background(), ev))
	h.OfflineMessage.Add(0, "store", func(_ context.Context, ev *StanzaEvent) bool {
		ev.Handled = true
		return true
	})
	require.True(t, h.OfflineMessage.Run(context.Background(), ev))
	require.True(t, ev.Handled)
	require.Zero(t, h.LocalMessage.Len(), "chains are independent")
}

// TestRemoveAll checks that RemoveAll takes a name off every chain and
// leaves the other names alone.
func TestRemoveAll(t *testing.T) {
	var h Hooks
	noop := func(context.Context, *SessionEvent) bool { return false }
	h.SessionOpened.Add(50, "mod_a", noop)
	h.SessionClosed.Add(50, "mod_a", noop)
	h.SessionClosed.Add(50, "mod_b", noop)
	h.DeliverMessage.Add(50, "mod_a", func(context.Context, *MessageDelivery) bool { return false })
	h.MucGroupchatBroadcast.Add(50, "mod_a", func(context.Context, *MucGroupchatBroadcast) bool { return false })
	h.RemoveAll("mod_a")
	if n := h.SessionOpened.Len() + h.DeliverMessage.Len() + h.MucGroupchatBroadcast.Len(); n != 0 {
		t.Fatalf("%d handlers of mod_a left", n)
	}
	if n := h.SessionClosed.Len(); n != 1 {
		t.Fatalf("SessionClosed has %d handlers, want mod_b's", n)
	}
}
