package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// The progress view of a broadcast job: `gander ctl broadcast getBroadcast
// --domain D --id N --watch [--interval 1s]` polls the job and draws a
// progress bar with the achieved rate and the remaining time until the job
// ends (docs/modules/mod_broadcast.md).

// watchOptions are the options of the progress view.
type watchOptions struct {
	on       bool
	interval time.Duration
}

// cutWatch takes --watch and --interval out of the arguments of `broadcast
// getBroadcast` (the only command that has them) and returns the others.
func cutWatch(cat, cmd string, args []string) ([]string, watchOptions, error) {
	w := watchOptions{interval: time.Second}
	if cat != "broadcast" || cmd != "getBroadcast" {
		return args, w, nil
	}
	var rest []string
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") {
			rest = append(rest, args[i])
			continue
		}
		switch name {
		case "watch":
			w.on = true
			if hasVal {
				b, err := strconv.ParseBool(val)
				if err != nil {
					return nil, w, fmt.Errorf("--watch: expected true or false, got %q", val)
				}
				w.on = b
			}
		case "interval":
			if !hasVal {
				if i+1 >= len(args) {
					return nil, w, fmt.Errorf("--interval needs a value")
				}
				i++
				val = args[i]
			}
			d, err := time.ParseDuration(val)
			if err != nil || d < 100*time.Millisecond {
				return nil, w, fmt.Errorf("--interval: expected a duration of at least 100ms, got %q", val)
			}
			w.interval = d
		default:
			rest = append(rest, args[i])
		}
	}
	return rest, w, nil
}

// watchUsage documents the options cutWatch takes.
func watchUsage(w io.Writer, cat, cmd string) {
	if cat != "broadcast" || cmd != "getBroadcast" {
		return
	}
	fmt.Fprintf(w, "  --%-20s %s\n", "watch", "follow the job with a progress bar (rate, ETA) until it ends; exit 0 when it FINISHED, 1 otherwise")
	fmt.Fprintf(w, "  --%-20s %s\n", "interval", "how often --watch polls (default 1s)")
}

// jobView is the part of a Broadcast the progress view shows.
type jobView struct {
	ID                  int        `json:"id"`
	Name                string     `json:"name"`
	Domain              string     `json:"domain"`
	SenderJid           string     `json:"senderJid"`
	MessageRate         int        `json:"messageRate"`
	OwnerNode           string     `json:"ownerNode"`
	StartTimestamp      *time.Time `json:"startTimestamp"`
	StopTimestamp       *time.Time `json:"stopTimestamp"`
	ExecutionState      string     `json:"executionState"`
	AbortionReason      *string    `json:"abortionReason"`
	RecipientCount      int        `json:"recipientCount"`
	RecipientsProcessed int        `json:"recipientsProcessed"`
}

// watchBroadcast runs the progress view; doc and vars are the getBroadcast
// request.
func watchBroadcast(ep ctlEndpoint, doc string, vars map[string]any, w watchOptions, timeout time.Duration, stdout, stderr io.Writer) int {
	tty := isTerminal(stdout)
	var rate rateMeter
	var last string
	tick := time.NewTicker(w.interval)
	defer tick.Stop()
	for first := true; ; first = false {
		if !first {
			<-tick.C
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		body, status, err := ep.do(ctx, doc, vars)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "gander ctl: %v\n", err)
			return 1
		}
		job, ok := decodeJob(body, status)
		if !ok {
			if tty && !first {
				fmt.Fprintln(stdout)
			}
			fmt.Fprintln(stdout, strings.TrimSpace(string(body)))
			return 1
		}
		now := time.Now()
		if first {
			fmt.Fprintf(stdout, "Broadcast %d %q on %s from %s at %d msg/s, owner node %s\n",
				job.ID, job.Name, job.Domain, job.SenderJid, job.MessageRate, job.OwnerNode)
		}
		r, measured := rate.observe(now, job)
		line := renderProgress(job, now, r, measured)
		done := job.ExecutionState != "RUNNING"
		switch {
		case tty:
			fmt.Fprintf(stdout, "\r\033[K%s", line)
			if done {
				fmt.Fprintln(stdout)
			}
		case line != last || done:
			// Not a terminal (a log, a pipe): a line when something changed.
			fmt.Fprintln(stdout, line)
		}
		last = line
		if done {
			if job.AbortionReason != nil {
				fmt.Fprintf(stdout, "Reason: %s\n", *job.AbortionReason)
			}
			if job.ExecutionState == "FINISHED" {
				return 0
			}
			return 1
		}
	}
}

// decodeJob reads data.broadcast.getBroadcast of a response without errors.
func decodeJob(body []byte, status int) (jobView, bool) {
	var resp struct {
		Data struct {
			Broadcast struct {
				GetBroadcast *jobView `json:"getBroadcast"`
			} `json:"broadcast"`
		} `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &resp) != nil || len(resp.Errors) > 0 || resp.Data.Broadcast.GetBroadcast == nil {
		return jobView{}, false
	}
	return *resp.Data.Broadcast.GetBroadcast, true
}

// rateMeter estimates the achieved rate of a running job. The progress is
// saved at batch boundaries only (about every 10 s of sending), so the rate
// is measured between two boundaries seen by the view; until two were
// seen, it is the progress since the job's start time, and before any
// progress the configured rate.
type rateMeter struct {
	prev    int
	seen    bool
	changes []sample
}

type sample struct {
	at time.Time
	n  int
}

// observe records a poll and returns the rate in messages per second and
// whether it was measured (false: the configured rate).
func (m *rateMeter) observe(now time.Time, j jobView) (float64, bool) {
	if m.seen && j.RecipientsProcessed != m.prev {
		m.changes = append(m.changes, sample{now, j.RecipientsProcessed})
		if len(m.changes) > 6 {
			m.changes = m.changes[len(m.changes)-6:]
		}
	}
	m.prev, m.seen = j.RecipientsProcessed, true
	if n := len(m.changes); n >= 2 {
		a, b := m.changes[0], m.changes[n-1]
		if dt := b.at.Sub(a.at).Seconds(); dt > 0 && b.n > a.n {
			return float64(b.n-a.n) / dt, true
		}
	}
	if j.StartTimestamp != nil && j.RecipientsProcessed > 0 {
		if dt := now.Sub(*j.StartTimestamp).Seconds(); dt >= 1 {
			return float64(j.RecipientsProcessed) / dt, true
		}
	}
	return float64(j.MessageRate), false
}

const barWidth = 30

// renderProgress draws one line of the view: the bar, the progress, and
// for a running job the rate and the ETA (a "~" marks the configured rate
// standing in for a measured one); for an ended job its state, duration and
// average rate.
func renderProgress(j jobView, now time.Time, rate float64, measured bool) string {
	total := max(j.RecipientCount, 1)
	done := min(j.RecipientsProcessed, total)
	filled := done * barWidth / total
	pct := float64(done) * 100 / float64(total)
	bar := "[" + strings.Repeat("#", filled) + strings.Repeat("-", barWidth-filled) + "]"
	line := fmt.Sprintf("%s %*d/%d %5.1f%%", bar, len(strconv.Itoa(j.RecipientCount)), j.RecipientsProcessed, j.RecipientCount, pct)
	if j.ExecutionState != "RUNNING" {
		line += "  " + j.ExecutionState
		if j.StartTimestamp != nil && j.StopTimestamp != nil {
			took := j.StopTimestamp.Sub(*j.StartTimestamp)
			line += " in " + took.Round(time.Second).String()
			if s := took.Seconds(); s >= 1 {
				line += fmt.Sprintf(" (%.1f msg/s)", float64(j.RecipientsProcessed)/s)
			}
		}
		return line
	}
	approx := ""
	if !measured {
		approx = "~"
	}
	line += fmt.Sprintf("  %s%.1f msg/s", approx, rate)
	if rate > 0 {
		eta := time.Duration(float64(j.RecipientCount-done) / rate * float64(time.Second))
		line += "  ETA " + approx + eta.Round(time.Second).String()
	}
	if j.StartTimestamp != nil {
		line += "  elapsed " + now.Sub(*j.StartTimestamp).Round(time.Second).String()
	}
	return line
}

// isTerminal reports whether w is a terminal (the view then redraws one
// line in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
