package main

import "testing"

// TestSCRAMVectors replays the exchanges of RFC 5802 §5 (SHA-1) and
// RFC 7677 §3 (SHA-256).
func TestSCRAMVectors(t *testing.T) {
	for _, tc := range []struct {
		mech, cnonce, clientFirst, serverFirst, clientFinal, serverFinal string
	}{
		{"SCRAM-SHA-1", "fyko+d2lbbFgONRv9qkxdawL",
			"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
			"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
			"c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
			"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="},
		{"SCRAM-SHA-256", "rOprNGfwEbeRWgbNEkqO",
			"n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
			"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
			"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
			"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="},
	} {
		t.Run(tc.mech, func(t *testing.T) {
			s, err := newSCRAM(tc.mech, "user", "pencil", tc.cnonce)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.first(); got != tc.clientFirst {
				t.Errorf("client-first = %q, want %q", got, tc.clientFirst)
			}
			got, err := s.final(tc.serverFirst)
			if err != nil || got != tc.clientFinal {
				t.Errorf("client-final = %q, %v; want %q", got, err, tc.clientFinal)
			}
			if err := s.verify(tc.serverFinal); err != nil {
				t.Errorf("verify: %v", err)
			}
			if err := s.verify("v=AAAA"); err == nil {
				t.Error("a wrong server signature verified")
			}
		})
	}
}

func TestSCRAMRejectsForeignNonce(t *testing.T) {
	s, _ := newSCRAM("SCRAM-SHA-1", "user", "pencil", "abc")
	s.first()
	if _, err := s.final("r=xyz123,s=QSXCR+Q6sek8bf92,i=4096"); err == nil {
		t.Error("a server nonce not extending the client's was accepted")
	}
}
