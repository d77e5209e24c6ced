package broadcast

import "testing"

func TestMessageID(t *testing.T) {
	// spec/broadcast.md §7 test vector.
	if got, want := MessageID(12345, "alice@example.com"), "mb-2BCEDDF26DDAAAA1A9D94A6B6500180C"; got != want {
		t.Fatalf("MessageID = %s, want %s", got, want)
	}
	a := MessageID(1, "alice@localhost")
	if a != MessageID(1, "alice@localhost") {
		t.Error("not deterministic")
	}
	if a == MessageID(1, "bob@localhost") {
		t.Error("same id for another recipient")
	}
	if a == MessageID(2, "alice@localhost") {
		t.Error("same id for another job")
	}
	if len(a) != 3+32 || a[:3] != "mb-" {
		t.Errorf("bad shape %q", a)
	}
}
