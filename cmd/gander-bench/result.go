package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

func writeJSON(path string, r *benchreport.Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTable prints the human summary.
func writeTable(w io.Writer, r *benchreport.Result) {
	fmt.Fprintf(w, "gander-bench %s  server=%s users=%d label=%q started=%s cores=%d\n",
		r.Scenario, r.Server, r.Users, r.Label, r.Started, r.Machine.Cores)
	if l := r.Register; l != nil {
		fmt.Fprintf(w, "register: %d attempted, %d created, %d existed, %d failed in %.2fs (%.1f/s)\n",
			l.Attempted, l.Created, l.Existed, l.Failed, l.Seconds, l.PerS)
	}
	if l := r.Login; l != nil {
		fmt.Fprintf(w, "login: %d attempted, %d ok, %d failed in %.2fs (%.1f logins/s; server CPU %.2fs, bench CPU %.2fs)\n",
			l.Attempted, l.OK, l.Failed, l.Seconds, l.PerS, l.ServerCPU, l.BenchCPU)
	}
	if len(r.Steps) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "target/s\tsent\tdelivered\tmsgs/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tsrv CPU s\tsrv s/1k\tbench CPU s\tbench s/1k\tsustained\t")
		for _, s := range r.Steps {
			fmt.Fprintf(tw, "%.0f\t%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t%.3f\t%v\t\n",
				s.TargetRate, s.Sent, s.Delivered, s.Throughput, s.P50, s.P90, s.P99, s.P999, s.Max,
				s.ServerCPU, s.ServerCPUPer1000, s.BenchCPU, s.BenchCPUPer1000, sustainedText(s))
		}
		tw.Flush()
		for _, s := range r.Steps {
			if s.DBCPU != nil && s.DBCPUPer1000 != nil {
				fmt.Fprintf(w, "db CPU at %.0f/s: %.2f s, %.3f s/1k\n", s.TargetRate, *s.DBCPU, *s.DBCPUPer1000)
			}
		}
		if m := r.MaxSustained; m != nil {
			fmt.Fprintf(w, "max sustained: %.0f msgs/s target, %.1f delivered/s, p99 %.2f ms\n", m.TargetRate, m.Throughput, m.P99)
		} else {
			fmt.Fprintln(w, "max sustained: none")
		}
	}
	if i := r.Idle; i != nil {
		fmt.Fprintf(w, "idle: %d connections, server RSS %d kB -> %d kB, %.1f kB per connection\n",
			i.Connections, i.RSSBeforeKB, i.RSSAfterKB, i.PerConnKB)
	}
	if s := r.Spike; s != nil {
		fmt.Fprintf(w, "spike: %d connections closed at once; server busy %.2fs, server CPU %.2fs\n",
			s.Connections, s.QuietSeconds, s.ServerCPU)
	}
	if i := r.Inbox; i != nil {
		fmt.Fprintf(w, "inbox: %d queries, %d answered, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			i.Queries, i.Answers, i.P50, i.P99, i.Max)
	}
	if m := r.Mam; m != nil {
		fmt.Fprintf(w, "mam: %d queries, %d answered, %.1f rows each, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
			m.Queries, m.Answers, m.Rows, m.P50, m.P90, m.P99, m.Max)
	}
	if b := r.Broadcast; b != nil {
		fmt.Fprintf(w, "broadcast: %d recipients, %d arrived, %d missing, first %.2fs last %.2fs spread %.2fs, %.1f/s\n",
			b.Recipients, b.Arrived, b.Missing, b.FirstS, b.LastS, b.SpreadS, b.PerS)
	}
	if p := r.ServerProc; p != nil {
		fmt.Fprintf(w, "server: CPU %.2fs, peak RSS %d kB\n", p.CPU, p.PeakRSSKB)
	}
	if p := r.BenchProc; p != nil {
		fmt.Fprintf(w, "bench:  CPU %.2fs, peak RSS %d kB\n", p.CPU, p.PeakRSSKB)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "error: %s\n", strings.TrimSpace(e))
	}
}

func sustainedText(s *benchreport.Step) string {
	if s.Sustained {
		return "yes"
	}
	return "no"
}
