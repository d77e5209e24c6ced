package hooks

import (
	"context"
	"slices"
	"sync"
	"testing"
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
