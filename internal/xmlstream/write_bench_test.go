package xmlstream

import "testing"

// BenchmarkElementBytes serialises one chat message as the c2s writer does
// for every delivered stanza (and mod_inbox for every stored copy).
func BenchmarkElementBytes(b *testing.B) {
	el := New("jabber:client", "message", "from", "alice@localhost/phone-8f3a", "to", "bob@localhost",
		"type", "chat", "id", "1733100000000000000-42")
	el.Append(New("jabber:client", "body").AppendText("t=1733100000000000000 s=42 hello, how are you?"))
	el.Append(New("urn:xmpp:sid:0", "stanza-id", "by", "bob@localhost", "id", "01JCK3X5W8Q3V6N2M7P9R4T1YZ"))
	b.ReportAllocs()
	for b.Loop() {
		_ = el.Bytes("jabber:client")
	}
}
