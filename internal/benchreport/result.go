// Package benchreport turns gander-bench JSON results into the markdown
// comparison of docs/benchmarks.md: Gander (SQLite and PostgreSQL) beside
// ejabberd and Prosody, the ratios Gander/peer against the targets of issue
// 8, and the MUC Light + inbox table of issue 6.
//
// It is pure logic plus file I/O. Result is the one definition of a run's
// JSON (the gander-bench contract): cmd/gander-bench fills and writes it, and
// calls Run for its "report" subcommand.
package benchreport

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// Result is one gander-bench run: what the generator writes with --json and
// what Run reads back, one JSON file each. Its JSON form is the contract in
// docs/gander-bench.md; fields that do not apply are omitted.
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
	Mam          *Mam        `json:"mam,omitempty"`
	Broadcast    *Broadcast  `json:"broadcast,omitempty"`
	ServerProc   *Proc       `json:"server_proc,omitempty"`
	BenchProc    *Proc       `json:"bench"`
	Timeseries   []TimePoint `json:"timeseries,omitempty"`
	Errors       []string    `json:"errors,omitempty"`

	file string // base name of the JSON file read, for messages
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

// Mam holds the latency of archive queries (mam scenario): the last page
// of one conversation, count included, from the query to its IQ result.
type Mam struct {
	Queries int64 `json:"queries"`
	Answers int64 `json:"answers"`
	// Rows is the mean number of result messages per answer.
	Rows float64 `json:"rows"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
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

// UnmarshalJSON reads a result, also in the first draft of the contract,
// which used "server" for the server process figures (now server_proc)
// instead of the c2s address.
func (r *Result) UnmarshalJSON(b []byte) error {
	type plain Result
	v := struct {
		*plain
		Server json.RawMessage `json:"server"`
	}{plain: (*plain)(r)}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Server = ""
	switch {
	case len(v.Server) > 0 && v.Server[0] == '{':
		if r.ServerProc == nil {
			r.ServerProc = &Proc{}
			if err := json.Unmarshal(v.Server, r.ServerProc); err != nil {
				return fmt.Errorf("server: %w", err)
			}
		}
	case len(v.Server) > 0:
		if err := json.Unmarshal(v.Server, &r.Server); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	return nil
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
		out = append(out, r)
	}
	return out, nil
}
