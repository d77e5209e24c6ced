package benchreport

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Labels of the peers Gander is compared with, and Gander's label prefix.
const (
	Ejabberd     = "ejabberd"
	Prosody      = "prosody"
	GanderPrefix = "gander-"
)

// Target is one of issue 8's goals for a Gander/peer ratio.
type Target struct {
	Peer   string
	Metric string  // "cpu", "throughput" or "memory"
	Limit  float64 // the ratio bound
	AtMost bool    // true: ratio ≤ Limit is met; false: ratio ≥ Limit
	Text   string  // how the report writes the target
}

// Targets are the goals of issue 8: at most 1/3 of ejabberd's and 1/5 of
// Prosody's CPU per message, at least 3× ejabberd's and 5× Prosody's
// sustained throughput, at most half of Prosody's memory per idle
// connection. ejabberd's memory has no target; its ratio is shown anyway.
var Targets = []Target{
	{Ejabberd, "cpu", 1.0 / 3, true, "≤ 1/3"},
	{Prosody, "cpu", 1.0 / 5, true, "≤ 1/5"},
	{Ejabberd, "throughput", 3, false, "≥ 3×"},
	{Prosody, "throughput", 5, false, "≥ 5×"},
	{Ejabberd, "memory", 0, true, "—"},
	{Prosody, "memory", 0.5, true, "≤ 1/2"},
}

// Met reports whether ratio meets t; a target without a limit is never met
// or missed (ok is false).
func (t Target) Met(ratio float64) (met, ok bool) {
	if t.Limit == 0 {
		return false, false
	}
	if t.AtMost {
		return ratio <= t.Limit, true
	}
	return ratio >= t.Limit, true
}

// Host describes the machine the results were measured on.
type Host struct {
	Cores  int
	MemGiB float64
	CPU    string // model name from /proc/cpuinfo
	OS     string // PRETTY_NAME from /etc/os-release
}

// Report is everything Render needs.
type Report struct {
	Results  []*Result
	Host     Host
	Date     string // when the results were taken
	Commands string // the exact commands that produced them
}

// Render returns the markdown block that goes between the markers.
func Render(rep Report) string {
	var b strings.Builder
	h := rep.Host
	fmt.Fprintf(&b, "Measured %s on %d cores, %.1f GiB", rep.Date, h.Cores, h.MemGiB)
	if h.CPU != "" {
		fmt.Fprintf(&b, " (%s)", h.CPU)
	}
	if h.OS != "" {
		fmt.Fprintf(&b, ", %s", h.OS)
	}
	b.WriteString(". The servers and the load generator share the machine, one server at a time, over loopback.\n")

	chat := latest(rep.Results, "chat")
	for _, n := range usersOf(chat) {
		renderChat(&b, chat, n)
	}
	renderIdle(&b, latest(rep.Results, "idle"))
	renderLogin(&b, latest(rep.Results, "login"))
	renderRatios(&b, chat, latest(rep.Results, "idle"))
	renderMUCLight(&b, latest(rep.Results, "muclight"))
	renderErrors(&b, rep.Results)
	if c := strings.TrimSpace(rep.Commands); c != "" {
		b.WriteString("\n### Commands\n\n```sh\n")
		b.WriteString(c)
		b.WriteString("\n```\n")
	}
	return b.String()
}

// key identifies a run: label and number of users.
type key struct {
	label string
	users int
}

// latest returns, per label and N, the last result (in file-name order) of
// the scenario: a rerun replaces an earlier run.
func latest(rs []*Result, scenario string) map[key]*Result {
	m := map[key]*Result{}
	for _, r := range rs {
		if r.Scenario == scenario {
			m[key{r.Label, r.Users}] = r
		}
	}
	return m
}

func usersOf(m map[key]*Result) []int {
	seen := map[int]bool{}
	var ns []int
	for k := range m {
		if !seen[k.users] {
			seen[k.users] = true
			ns = append(ns, k.users)
		}
	}
	sort.Ints(ns)
	return ns
}

// labelRank orders labels: Gander on SQLite, Gander on PostgreSQL, other
// Gander labels, ejabberd, Prosody, anything else.
func labelRank(l string) int {
	switch {
	case l == "gander-sqlite":
		return 0
	case l == "gander-pg":
		return 1
	case strings.HasPrefix(l, GanderPrefix):
		return 2
	case l == Ejabberd:
		return 3
	case l == Prosody:
		return 4
	}
	return 5
}

// labelsAt returns the labels of m with n users (any n if n < 0), ordered.
func labelsAt(m map[key]*Result, n int) []string {
	var ls []string
	for k := range m {
		if n < 0 || k.users == n {
			ls = append(ls, k.label)
		}
	}
	sort.Slice(ls, func(i, j int) bool {
		ri, rj := labelRank(ls[i]), labelRank(ls[j])
		if ri != rj {
			return ri < rj
		}
		return ls[i] < ls[j]
	})
	return ls
}

// byLabel returns the result of label, whatever its N (the largest N when
// there are several).
func byLabel(m map[key]*Result, label string) *Result {
	var best *Result
	for k, r := range m {
		if k.label == label && (best == nil || r.Users > best.Users) {
			best = r
		}
	}
	return best
}

func renderChat(b *strings.Builder, chat map[key]*Result, n int) {
	fmt.Fprintf(b, "\n### One-to-one chat, %s users online\n\n", thousands(float64(n)))
	b.WriteString("Highest sustained step (delivered ≥ 99.5 % of sent, p99 < 100 ms); CPU seconds per 1,000 delivered messages at that step.\n\n")
	b.WriteString("| server | max sustained msgs/s | at target/s | p99 ms | server CPU s / 1,000 msgs | generator CPU s / 1,000 msgs | server peak RSS MiB | first step not sustained |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, l := range labelsAt(chat, n) {
		r := chat[key{l, n}]
		fail := "none (all steps sustained)"
		if s := firstUnsustained(r); s != nil {
			fail = fmt.Sprintf("%s/s: %s delivered/s, p99 %s ms", thousands(s.TargetRate), thousands(s.Throughput), ms(s.P99))
		}
		m := r.MaxSustained
		if m == nil {
			fmt.Fprintf(b, "| %s | none | — | — | — | — | %s | %s |\n", l, peakRSS(r), fail)
			continue
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", l, thousands(m.Throughput), thousands(m.TargetRate),
			ms(m.P99), cpu(m.ServerCPUPer1000), cpu(m.BenchCPUPer1000), peakRSS(r), fail)
	}
}

func firstUnsustained(r *Result) *Step {
	for _, s := range r.Steps {
		if !s.Sustained {
			return s
		}
	}
	return nil
}

func peakRSS(r *Result) string {
	if r.ServerProc == nil || r.ServerProc.PeakRSSKB == 0 {
		return "—"
	}
	return strconv.FormatFloat(float64(r.ServerProc.PeakRSSKB)/1024, 'f', 0, 64)
}

func renderIdle(b *strings.Builder, idle map[key]*Result) {
	if len(idle) == 0 {
		return
	}
	b.WriteString("\n### Memory per idle connection\n\n")
	b.WriteString("Server RSS after the connections are logged in, presence sent and settled, minus RSS before the first one, divided by the connections. Measured elsewhere: ejabberd ≈ 47 KB, Prosody ≈ 20–25 KB per session.\n\n")
	b.WriteString("| server | connections | RSS before MiB | RSS after MiB | KiB per connection |\n|---|---:|---:|---:|---:|\n")
	for _, l := range labelsAt(idle, -1) {
		r := byLabel(idle, l)
		if r.Idle == nil {
			fmt.Fprintf(b, "| %s | %s | — | — | — |\n", l, thousands(float64(r.Users)))
			continue
		}
		i := r.Idle
		fmt.Fprintf(b, "| %s | %s | %.0f | %.0f | %.1f |\n", l, thousands(float64(i.Connections)),
			float64(i.RSSBeforeKB)/1024, float64(i.RSSAfterKB)/1024, i.PerConnKB)
	}
}

func renderLogin(b *strings.Builder, login map[key]*Result) {
	if len(login) == 0 {
		return
	}
	b.WriteString("\n### Logins\n\n")
	b.WriteString("TCP connect, STARTTLS, SASL, resource bind, as fast as the generator's login concurrency allows.\n\n")
	b.WriteString("| server | accounts | logins/s | failed | seconds | server CPU s / 1,000 logins |\n|---|---:|---:|---:|---:|---:|\n")
	for _, l := range labelsAt(login, -1) {
		r := byLabel(login, l)
		if r.Login == nil {
			fmt.Fprintf(b, "| %s | %s | — | — | — | — |\n", l, thousands(float64(r.Users)))
			continue
		}
		lg := r.Login
		per := "—"
		if lg.OK > 0 && lg.ServerCPU > 0 {
			per = cpu(lg.ServerCPU / float64(lg.OK) * 1000)
		}
		fmt.Fprintf(b, "| %s | %s | %s | %d | %.1f | %s |\n", l, thousands(float64(lg.Attempted)), thousands(lg.PerS), lg.Failed, lg.Seconds, per)
	}
}

// ratioRow is one line of the ratio table.
type ratioRow struct {
	gander, peer, metric, at string
	g, p, ratio              float64
	target                   Target
	note                     string
	bound                    bool // ratio is a lower bound ("> r")
}

// Ratios computes Gander/peer for every gander-* label against ejabberd and
// Prosody: CPU per message at the highest target rate both sustained (the
// same load; each one's highest sustained step if they share none),
// sustained throughput, and memory per idle connection.
func ratios(chat, idle map[key]*Result) []ratioRow {
	var rows []ratioRow
	var ganders []string
	seen := map[string]bool{}
	for _, m := range []map[key]*Result{chat, idle} {
		for _, l := range labelsAt(m, -1) {
			if strings.HasPrefix(l, GanderPrefix) && !strings.Contains(l, "-inbox-") && !seen[l] {
				seen[l] = true
				ganders = append(ganders, l)
			}
		}
	}
	sort.Slice(ganders, func(i, j int) bool {
		return labelRank(ganders[i]) < labelRank(ganders[j]) || (labelRank(ganders[i]) == labelRank(ganders[j]) && ganders[i] < ganders[j])
	})
	for _, g := range ganders {
		for _, t := range Targets {
			switch t.Metric {
			case "cpu", "throughput":
				for _, n := range usersOf(chat) {
					gr, pr := chat[key{g, n}], chat[key{t.Peer, n}]
					if gr == nil || pr == nil {
						continue
					}
					row := ratioRow{gander: g, peer: t.Peer, metric: t.Metric, target: t, at: "N = " + thousands(float64(n))}
					if t.Metric == "throughput" {
						switch {
						case gr.MaxSustained == nil:
							row.note = "Gander sustained no step"
						case pr.MaxSustained == nil && len(pr.Steps) > 0:
							// The peer's sustained rate is below its lowest step:
							// Gander's throughput over that step is a lower bound.
							row.g, row.p = gr.MaxSustained.Throughput, pr.Steps[0].TargetRate
							row.bound = true
							row.note = t.Peer + " sustained no step: ratio against its lowest step, a lower bound"
						case pr.MaxSustained == nil:
							row.note = t.Peer + " sustained no step"
						default:
							row.g, row.p = gr.MaxSustained.Throughput, pr.MaxSustained.Throughput
							if firstUnsustained(gr) == nil {
								row.note = "Gander sustained every step: its ratio is a lower bound"
							}
						}
					} else {
						gs, ps, note := cpuSteps(gr, pr)
						if gs == nil || ps == nil {
							row.note = "no common step"
						} else {
							row.g, row.p = gs.ServerCPUPer1000, ps.ServerCPUPer1000
							row.at += ", " + thousands(gs.TargetRate) + "/s"
							row.note = note
						}
					}
					rows = append(rows, finish(row))
				}
			case "memory":
				gr, pr := byLabel(idle, g), byLabel(idle, t.Peer)
				if gr == nil || pr == nil || gr.Idle == nil || pr.Idle == nil {
					continue
				}
				row := ratioRow{gander: g, peer: t.Peer, metric: t.Metric, target: t,
					at: thousands(float64(gr.Idle.Connections)) + " idle", g: gr.Idle.PerConnKB, p: pr.Idle.PerConnKB}
				rows = append(rows, finish(row))
			}
		}
	}
	return rows
}

func finish(r ratioRow) ratioRow {
	if r.p > 0 && r.g > 0 {
		r.ratio = r.g / r.p
	}
	return r
}

// cpuSteps returns the steps at which to compare CPU per message: the
// highest target rate both sustained, else the highest target rate both
// ran (with a note saying who did not sustain it).
func cpuSteps(g, p *Result) (gs, ps *Step, note string) {
	ran := map[float64]*Step{}
	for _, s := range p.Steps {
		if s.ServerCPUPer1000 > 0 {
			ran[s.TargetRate] = s
		}
	}
	var anyG, anyP *Step
	for _, s := range g.Steps {
		q := ran[s.TargetRate]
		if s.ServerCPUPer1000 <= 0 || q == nil {
			continue
		}
		if s.Sustained && q.Sustained && (gs == nil || s.TargetRate > gs.TargetRate) {
			gs, ps = s, q
		}
		if anyG == nil || s.TargetRate > anyG.TargetRate {
			anyG, anyP = s, q
		}
	}
	if gs != nil || anyG == nil {
		return gs, ps, ""
	}
	var who []string
	if !anyG.Sustained {
		who = append(who, g.Label)
	}
	if !anyP.Sustained {
		who = append(who, p.Label)
	}
	return anyG, anyP, "no common sustained step; not sustained by " + strings.Join(who, " and ")
}

func renderRatios(b *strings.Builder, chat, idle map[key]*Result) {
	rows := ratios(chat, idle)
	if len(rows) == 0 {
		return
	}
	b.WriteString("\n### Gander against the peers (issue 8 targets)\n\n")
	b.WriteString("Ratio = Gander ÷ peer. CPU per message is compared at the highest target rate both servers sustained (the same load).\n\n")
	b.WriteString("| Gander | peer | metric | at | Gander | peer | ratio | target | met? |\n|---|---|---|---|---:|---:|---:|---|---|\n")
	names := map[string]string{"cpu": "server CPU s / 1,000 msgs", "throughput": "sustained msgs/s", "memory": "KiB per idle connection"}
	for _, r := range rows {
		status, ratio := "n/a", "—"
		if r.ratio > 0 {
			ratio = fmt.Sprintf("%.2f", r.ratio)
			if r.bound {
				ratio = "> " + ratio
			}
			if r.metric == "throughput" {
				ratio += "×"
			}
			if met, ok := r.target.Met(r.ratio); ok {
				switch {
				case met:
					status = "**met**"
				case r.bound:
					// Only a lower bound, and below the target: the real
					// ratio may still reach it.
					status = "undecided"
				default:
					status = "not met"
				}
			}
		}
		if r.note != "" {
			status += " (" + r.note + ")"
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.gander, r.peer, names[r.metric], r.at,
			value(r.metric, r.g), value(r.metric, r.p), ratio, r.target.Text, status)
	}
}

func value(metric string, v float64) string {
	if v == 0 {
		return "—"
	}
	switch metric {
	case "cpu":
		return cpu(v)
	case "memory":
		return fmt.Sprintf("%.1f", v)
	}
	return thousands(v)
}

func renderMUCLight(b *strings.Builder, muc map[key]*Result) {
	if len(muc) == 0 {
		return
	}
	b.WriteString("\n### MUC Light + inbox\n\n")
	b.WriteString("Gander on PostgreSQL, MUC Light rooms of 10, every member sending groupchat messages; stanzas/s counts the delivered copies. Highest sustained step (p99 < 100 ms). PostgreSQL CPU: all `postgres` processes on the same machine during that step.\n\n")
	b.WriteString("| configuration | users | sustained stanzas/s | at target msgs/s | p99 ms | server CPU s / 1,000 stanzas | PostgreSQL CPU s / 1,000 stanzas | server CPU s (run) | server peak RSS MiB | inbox query p99 ms | throughput vs inbox off |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	off := map[int]*Result{}
	for k, r := range muc {
		if strings.HasSuffix(k.label, "inbox-off") {
			off[k.users] = r
		}
	}
	for _, n := range usersOf(muc) {
		for _, l := range labelsAt(muc, n) {
			r := muc[key{l, n}]
			runCPU := "—"
			if r.ServerProc != nil && r.ServerProc.CPU > 0 {
				runCPU = fmt.Sprintf("%.1f", r.ServerProc.CPU)
			}
			inbox := "—"
			if r.Inbox != nil && r.Inbox.Answers > 0 {
				inbox = ms(r.Inbox.P99)
			}
			m := r.MaxSustained
			if m == nil {
				fmt.Fprintf(b, "| %s | %s | none | — | — | — | — | %s | %s | %s | — |\n", l, thousands(float64(n)), runCPU, peakRSS(r), inbox)
				continue
			}
			rel := "—"
			if o := off[n]; o != nil && o.MaxSustained != nil && o.MaxSustained.Throughput > 0 && o != r {
				d := (o.MaxSustained.Throughput - m.Throughput) / o.MaxSustained.Throughput * 100
				rel = fmt.Sprintf("%.1f %% (cost %.1f %%)", m.Throughput/o.MaxSustained.Throughput*100, d)
			}
			dbCPU := "—"
			if m.DBCPUPer1000 != nil {
				dbCPU = fmt.Sprintf("%.3f", *m.DBCPUPer1000) // measured: 0 is a figure
			}
			fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", l, thousands(float64(n)), thousands(m.Throughput),
				thousands(m.TargetRate), ms(m.P99), cpu(m.ServerCPUPer1000), dbCPU, runCPU, peakRSS(r), inbox, rel)
		}
	}
}

func renderErrors(b *strings.Builder, rs []*Result) {
	var lines []string
	for _, r := range rs {
		for i, e := range r.Errors {
			if i == 5 {
				lines = append(lines, fmt.Sprintf("- %s: … %d more", r.file, len(r.Errors)-5))
				break
			}
			lines = append(lines, fmt.Sprintf("- %s (%s, %s): %s", r.file, r.Label, r.Scenario, strings.TrimSpace(e)))
		}
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n### Errors reported by the generator\n\n")
	b.WriteString(strings.Join(lines, "\n"))
	b.WriteString("\n")
}

// thousands formats v rounded to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

func ms(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

func cpu(v float64) string {
	if v == 0 {
		return "—"
	}
	return fmt.Sprintf("%.3f", v)
}
