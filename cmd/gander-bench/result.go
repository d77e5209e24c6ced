package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
)

// Result is one run's outcome; its JSON form is the contract in
// docs/gander-bench.md. Fields that do not apply are omitted.
type Result struct {
	Scenario     string      `json:"scenario"`
	Label        string      `json:"label,omitempty"`
	Server       string      `json:"server"`
	Users        int         `json:"users"`
	Started      string      `json:"started"`
	Machine      Machine     `json:"machine"`
	Login        *Login      `json:"login,omitempty"`
	Register     *Register   `json:"register,omitempty"`
	Steps        []*Step     `json:"steps,omitempty"`
	MaxSustained *Step       `json:"max_sustained,omitempty"`
	Idle         *Idle       `json:"idle,omitempty"`
	Spike        *Spike      `json:"spike,omitempty"`
	Inbox        *Inbox      `json:"inbox,omitempty"`
	Broadcast    *Broadcast  `json:"broadcast,omitempty"`
	ServerProc   *Proc       `json:"server_proc,omitempty"`
	BenchProc    *Proc       `json:"bench"`
	Timeseries   []TimePoint `json:"timeseries,omitempty"`
	Errors       []string    `json:"errors,omitempty"`
}

// Machine describes the host.
type Machine struct {
	Cores  int     `json:"cores"`
	MemGiB float64 `json:"mem_gib"`
}

// Login is the outcome of logging the users in.
type Login struct {
	Attempted int     `json:"attempted"`
	OK        int     `json:"ok"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"`
	PerS      float64 `json:"per_s"`
	ServerCPU float64 `json:"server_cpu_s,omitempty"`
	BenchCPU  float64 `json:"bench_cpu_s"`
}

// Register is the outcome of the register scenario.
type Register struct {
	Attempted int     `json:"attempted"`
	Created   int     `json:"created"`
	Existed   int     `json:"existed"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"`
	PerS      float64 `json:"per_s"`
}

// Step is one rate step of chat or muclight.
type Step struct {
	TargetRate float64 `json:"target_rate"`
	// Start and End are when the step's sending began and its draining
	// ended (RFC 3339, UTC).
	Start            string  `json:"start"`
	End              string  `json:"end"`
	Sent             int64   `json:"sent"`
	Expected         int64   `json:"expected,omitempty"`
	Delivered        int64   `json:"delivered"`
	Seconds          float64 `json:"seconds"`
	Throughput       float64 `json:"throughput"`
	P50              float64 `json:"p50_ms"`
	P90              float64 `json:"p90_ms"`
	P99              float64 `json:"p99_ms"`
	P999             float64 `json:"p999_ms"`
	Max              float64 `json:"max_ms"`
	Sustained        bool    `json:"sustained"`
	ServerCPU        float64 `json:"server_cpu_s,omitempty"`
	ServerCPUPer1000 float64 `json:"server_cpu_s_per_1000,omitempty"`
	BenchCPU         float64 `json:"bench_cpu_s"`
	BenchCPUPer1000  float64 `json:"bench_cpu_s_per_1000"`
	// DBCPU is the CPU of the --db-proc processes during the step (nil
	// without --db-proc).
	DBCPU        *float64 `json:"db_cpu_s,omitempty"`
	DBCPUPer1000 *float64 `json:"db_cpu_s_per_1000,omitempty"`
	Note         string   `json:"note,omitempty"`
}

// Idle is the idle scenario's memory figure.
type Idle struct {
	Connections int     `json:"connections"`
	RSSBeforeKB int64   `json:"rss_before_kb"`
	RSSAfterKB  int64   `json:"rss_after_kb"`
	PerConnKB   float64 `json:"per_conn_kb"`
}

// Spike is the disconnect spike's outcome.
type Spike struct {
	Connections  int     `json:"connections"`
	QuietSeconds float64 `json:"quiet_seconds"`
	ServerCPU    float64 `json:"server_cpu_s"`
}

// Inbox holds the latency of inbox queries (muclight scenario).
type Inbox struct {
	Queries int64   `json:"queries"`
	Answers int64   `json:"answers"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
	Max     float64 `json:"max_ms"`
}

// Broadcast is the broadcast scenario's arrival figures.
type Broadcast struct {
	Recipients int     `json:"recipients"`
	Arrived    int64   `json:"arrived"`
	Missing    int     `json:"missing"`
	FirstS     float64 `json:"first_s"`
	LastS      float64 `json:"last_s"`
	SpreadS    float64 `json:"spread_s"`
	PerS       float64 `json:"per_s"`
	JobID      string  `json:"job_id,omitempty"`
}

// Proc is a process's CPU and peak memory over the run.
type Proc struct {
	CPU       float64 `json:"cpu_s"`
	PeakRSSKB int64   `json:"peak_rss_kb"`
}

// TimePoint is one second of the run.
type TimePoint struct {
	T            int     `json:"t"`
	Sent         int64   `json:"sent"`
	Delivered    int64   `json:"delivered"`
	P99          float64 `json:"p99_ms"`
	ServerCPUPct float64 `json:"server_cpu_pct,omitempty"`
	BenchCPUPct  float64 `json:"bench_cpu_pct"`
}

// MarshalJSON writes max_sustained as null when a scenario with steps had
// no sustained step, and omits it for scenarios without steps.
func (r *Result) MarshalJSON() ([]byte, error) {
	type plain Result
	if len(r.Steps) == 0 {
		return json.Marshal((*plain)(r))
	}
	return json.Marshal(struct {
		*plain
		MaxSustained *Step `json:"max_sustained"`
	}{(*plain)(r), r.MaxSustained})
}

func writeJSON(path string, r *Result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// writeTable prints the human summary.
func writeTable(w io.Writer, r *Result) {
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

func sustainedText(s *Step) string {
	if s.Sustained {
		return "yes"
	}
	return "no"
}
