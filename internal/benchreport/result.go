// Package benchreport turns gander-bench JSON results into the markdown
// comparison of docs/benchmarks.md: Gander (SQLite and PostgreSQL) beside
// ejabberd and Prosody, the ratios Gander/peer against the targets of issue
// 8, and the MUC Light + inbox table of issue 6.
//
// It is pure logic plus file I/O; cmd/gander-bench calls Run for its
// "report" subcommand. The JSON shape is the one agreed in the gander-bench
// contract; this package mirrors it with its own types and ignores fields
// it does not use.
package benchreport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Result is one gander-bench run (one JSON file).
type Result struct {
	Scenario string `json:"scenario"`
	Label    string `json:"label"`
	// Server is the c2s address as JSON. The first draft of the contract
	// also used "server" for the server process figures; LoadDir moves such
	// an object to ServerProc.
	Server       json.RawMessage `json:"server"`
	Users        int             `json:"users"`
	Started      string          `json:"started"`
	Machine      Machine         `json:"machine"`
	Login        *Login          `json:"login,omitempty"`
	Steps        []*Step         `json:"steps,omitempty"`
	MaxSustained *Step           `json:"max_sustained"`
	Idle         *Idle           `json:"idle,omitempty"`
	Inbox        *Inbox          `json:"inbox,omitempty"`
	ServerProc   *Proc           `json:"server_proc,omitempty"`
	BenchProc    *Proc           `json:"bench,omitempty"`
	Errors       []string        `json:"errors,omitempty"`

	file string // base name of the JSON file, for messages
}

// Machine is the host as the generator saw it.
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
	ServerCPU float64 `json:"server_cpu_s"`
}

// Step is one rate step of chat or muclight.
type Step struct {
	TargetRate       float64 `json:"target_rate"`
	Sent             int64   `json:"sent"`
	Delivered        int64   `json:"delivered"`
	Seconds          float64 `json:"seconds"`
	Throughput       float64 `json:"throughput"`
	P50              float64 `json:"p50_ms"`
	P99              float64 `json:"p99_ms"`
	Sustained        bool    `json:"sustained"`
	ServerCPU        float64 `json:"server_cpu_s"`
	ServerCPUPer1000 float64 `json:"server_cpu_s_per_1000"`
	// DBCPUPer1000 is the database's CPU per 1,000 delivered stanzas when
	// the database ran on the same machine (gander-bench --db-proc).
	DBCPUPer1000    *float64 `json:"db_cpu_s_per_1000,omitempty"`
	BenchCPU        float64  `json:"bench_cpu_s"`
	BenchCPUPer1000 float64  `json:"bench_cpu_s_per_1000"`
}

// Idle is the idle scenario's memory figure.
type Idle struct {
	Connections int     `json:"connections"`
	RSSBeforeKB int64   `json:"rss_before_kb"`
	RSSAfterKB  int64   `json:"rss_after_kb"`
	PerConnKB   float64 `json:"per_conn_kb"`
}

// Inbox is the latency of inbox queries in the muclight scenario.
type Inbox struct {
	Queries int64   `json:"queries"`
	Answers int64   `json:"answers"`
	P50     float64 `json:"p50_ms"`
	P99     float64 `json:"p99_ms"`
}

// Proc is a process's CPU and peak memory over the run.
type Proc struct {
	CPU       float64 `json:"cpu_s"`
	PeakRSSKB int64   `json:"peak_rss_kb"`
}

// LoadDir reads every *.json file in dir, in name order.
func LoadDir(dir string) ([]*Result, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("no *.json results in %s", dir)
	}
	sort.Strings(names)
	var out []*Result
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			return nil, err
		}
		r := &Result{}
		if err := json.Unmarshal(b, r); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		r.file = filepath.Base(n)
		if len(r.Server) > 0 && r.Server[0] == '{' {
			if r.ServerProc == nil {
				r.ServerProc = &Proc{}
				if err := json.Unmarshal(r.Server, r.ServerProc); err != nil {
					return nil, fmt.Errorf("%s: server: %w", n, err)
				}
			}
			r.Server = nil
		}
		out = append(out, r)
	}
	return out, nil
}
