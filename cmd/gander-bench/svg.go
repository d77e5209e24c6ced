package main

import (
	"bytes"
	"fmt"
	"math"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// Chart geometry, in SVG user units.
const (
	svgW      = 800
	svgPanelH = 220
	svgLeft   = 70
	svgRight  = 20
	svgTop    = 40
	svgGap    = 60
)

// svgChart draws the run's time series in two panels sharing the time
// axis: sent and delivered messages per second on top, p99 latency per
// second below. It is plain hand-written SVG so the tool needs no plotting
// dependency.
func svgChart(r *benchreport.Result) []byte {
	var b bytes.Buffer
	h := svgTop + 2*svgPanelH + svgGap + 40
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
`, svgW, h, svgW, h)
	title := "gander-bench " + r.Scenario
	if r.Label != "" {
		title += " (" + r.Label + ")"
	}
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"20\" font-size=\"15\">%s, %d users, %s</text>\n", svgLeft, escape(title), r.Users, escape(r.Started))
	ts := r.Timeseries
	sent := make([]float64, len(ts))
	deliv := make([]float64, len(ts))
	p99 := make([]float64, len(ts))
	for i, p := range ts {
		sent[i], deliv[i], p99[i] = float64(p.Sent), float64(p.Delivered), p.P99
	}
	panel(&b, svgTop, "messages per second", []series{{"sent", "#999999", sent}, {"delivered", "#1f77b4", deliv}})
	panel(&b, svgTop+svgPanelH+svgGap, "p99 latency per second (ms)", []series{{"p99", "#d62728", p99}})
	fmt.Fprintf(&b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds since start</text>\n", (svgLeft+svgW-svgRight)/2, h-8)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

type series struct {
	name, color string
	ys          []float64
}

// panel draws one chart with its axes, a y scale from 0 to a round
// maximum, and one polyline per series.
func panel(b *bytes.Buffer, top int, title string, ss []series) {
	x0, x1 := float64(svgLeft), float64(svgW-svgRight)
	y0, y1 := float64(top+svgPanelH), float64(top)
	n, ymax := 0, 0.0
	for _, s := range ss {
		n = max(n, len(s.ys))
		for _, y := range s.ys {
			ymax = max(ymax, y)
		}
	}
	ymax = niceCeil(ymax)
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>\n", svgLeft, top-8, escape(title))
	fmt.Fprintf(b, "<rect x=\"%g\" y=\"%g\" width=\"%g\" height=\"%g\" fill=\"none\" stroke=\"#333\"/>\n", x0, y1, x1-x0, y0-y1)
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		y := y0 - (y0-y1)*float64(i)/4
		fmt.Fprintf(b, "<line x1=\"%g\" y1=\"%.1f\" x2=\"%g\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", x0, y, x1, y)
		fmt.Fprintf(b, "<text x=\"%g\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", x0-6, y+4, fmtNum(v))
	}
	xs := func(i int) float64 {
		if n <= 1 {
			return x0
		}
		return x0 + (x1-x0)*float64(i)/float64(n-1)
	}
	for _, t := range []int{0, n / 2, n - 1} {
		if t >= 0 && n > 0 {
			fmt.Fprintf(b, "<text x=\"%.1f\" y=\"%g\" text-anchor=\"middle\">%d</text>\n", xs(t), y0+16, t+1)
		}
	}
	for k, s := range ss {
		if len(s.ys) > 0 {
			b.WriteString("<polyline fill=\"none\" stroke-width=\"1.5\" stroke=\"" + s.color + "\" points=\"")
			for i, y := range s.ys {
				fmt.Fprintf(b, "%.1f,%.1f ", xs(i), y0-(y0-y1)*y/ymax)
			}
			b.WriteString("\"/>\n")
		}
		fmt.Fprintf(b, "<text x=\"%g\" y=\"%d\" fill=\"%s\" text-anchor=\"end\">%s</text>\n", x1-float64(90*k), top-8, s.color, escape(s.name))
	}
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten (at least 1).
func niceCeil(v float64) float64 {
	if v <= 1 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func fmtNum(v float64) string {
	if v == math.Trunc(v) {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
