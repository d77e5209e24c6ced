package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// TestSVGWellFormed parses the chart with encoding/xml, for an empty run
// and for one with data and a label needing escaping.
func TestSVGWellFormed(t *testing.T) {
	full := &benchreport.Result{Scenario: "chat", Label: `a<b & "c"`, Users: 3, Started: "2026-01-01T00:00:00Z"}
	for i := range 30 {
		full.Timeseries = append(full.Timeseries, benchreport.TimePoint{T: i + 1, Sent: int64(100 * i), Delivered: int64(99 * i), P99: float64(i) / 3})
	}
	for name, r := range map[string]*benchreport.Result{"empty": {Scenario: "login"}, "one point": {Scenario: "chat", Timeseries: full.Timeseries[:1]}, "full": full} {
		t.Run(name, func(t *testing.T) {
			out := svgChart(r)
			d := xml.NewDecoder(bytes.NewReader(out))
			polylines, root := 0, ""
			for {
				tok, err := d.Token()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("not well-formed: %v\n%s", err, out)
				}
				if se, ok := tok.(xml.StartElement); ok {
					if root == "" {
						root = se.Name.Space + " " + se.Name.Local
					}
					if se.Name.Local == "polyline" {
						polylines++
					}
					for _, a := range se.Attr {
						if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
							t.Errorf("%s %s=%q", se.Name.Local, a.Name.Local, a.Value)
						}
					}
				}
			}
			if root != "http://www.w3.org/2000/svg svg" {
				t.Errorf("root = %q", root)
			}
			if want := map[bool]int{true: 3, false: 0}[len(r.Timeseries) > 0]; polylines != want {
				t.Errorf("polylines = %d, want %d", polylines, want)
			}
		})
	}
}

func TestNiceCeil(t *testing.T) {
	for in, want := range map[float64]float64{0: 1, 0.5: 1, 1: 1, 1.5: 2, 3: 5, 7: 10, 10: 10, 4001: 5000, 12: 20} {
		if got := niceCeil(in); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", in, got, want)
		}
	}
}
