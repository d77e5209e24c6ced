package xmlstream

import "testing"

// TestWithAttr: the copy carries the attribute and the same children; the
// original keeps its attributes, and appending to the copy leaves the
// original's children alone.
func TestWithAttr(t *testing.T) {
	orig := New("jabber:client", "message", "id", "1", "to", "a@x")
	orig.Append(New("jabber:client", "body").AppendText("hi"))
	orig.Children = append(make([]Node, 0, 4), orig.Children...) // spare capacity
	c := orig.WithAttr("to", "b@x")
	if got := c.String(); got != `<message xmlns="jabber:client" id="1" to="b@x"><body>hi</body></message>` {
		t.Fatalf("copy = %s", got)
	}
	if orig.Attr("to") != "a@x" {
		t.Fatalf("original's to changed to %q", orig.Attr("to"))
	}
	c.Append(New("urn:x", "extra"))
	if len(orig.Children) != 1 || len(orig.Children[:cap(orig.Children)]) < 2 || orig.Children[:2][1] != nil {
		t.Fatalf("appending to the copy wrote into the original's children")
	}
	if c2 := New("jabber:client", "message").WithAttr("to", "z@x"); c2.Attr("to") != "z@x" {
		t.Fatalf("added attribute missing: %s", c2.String())
	}
}
