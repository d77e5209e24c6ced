package inbox

import (
	"sync"
	"testing"
)

func TestNotArchivedEpoch(t *testing.T) {
	var c notArchived
	k := taskKey{Owner{"localhost", "alice"}, "bob@localhost"}
	e := c.epoch.Load()
	c.remember(k, e)
	if !c.known(k) {
		t.Fatal("a write with an unchanged epoch must be remembered")
	}
	// A property set forgets the key, and a write that started before it
	// must not bring the stale knowledge back.
	e = c.epoch.Load()
	c.changed(k)
	if c.known(k) {
		t.Fatal("a property set must forget the key")
	}
	c.remember(k, e)
	if c.known(k) {
		t.Fatal("a write that raced a property set was remembered")
	}
	c.remember(k, c.epoch.Load())
	c.forgetOwner(Owner{"localhost", "alice"})
	if c.known(k) {
		t.Fatal("user removal must forget the owner's keys")
	}
}

func TestNotArchivedBounded(t *testing.T) {
	var c notArchived
	for i := 0; i < cacheLimit+10; i++ {
		c.remember(taskKey{Owner{"localhost", "u"}, string(rune(i))}, 0)
	}
	if n := len(c.keys); n > cacheLimit {
		t.Fatalf("cache holds %d keys, limit %d", n, cacheLimit)
	}
}

func TestNotArchivedConcurrent(t *testing.T) {
	var c notArchived
	k := taskKey{Owner{"localhost", "alice"}, "bob@localhost"}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				c.remember(k, c.epoch.Load())
				c.known(k)
			}
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 1000; j++ {
				c.changed(k)
			}
		}()
	}
	wg.Wait()
}
