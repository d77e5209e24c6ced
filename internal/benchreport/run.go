package benchreport

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// The lines that delimit the generated block in the output file.
const (
	BeginMarker = "<!-- gander-bench:begin -->"
	EndMarker   = "<!-- gander-bench:end -->"
)

// Heading is written before the block when the output file has no markers
// yet.
const Heading = "## Side by side with ejabberd and Prosody (gander-bench)"

// Run implements "gander-bench report": it reads every *.json result in
// --results, renders the comparison and replaces the block between the
// markers in --out (appending it under Heading if the markers are absent),
// leaving the rest of the file as it was. It returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	results := fs.String("results", "", "`directory` of gander-bench JSON results (required)")
	out := fs.String("out", "docs/benchmarks.md", "markdown `file` whose gander-bench block is replaced")
	commands := fs.String("commands", "", "`file` with the exact commands that produced the results (copied into the report)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *results == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: gander-bench report --results DIR [--out FILE] [--commands FILE]")
		return 2
	}
	rs, err := LoadDir(*results)
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	rep := Report{Results: rs, Host: DescribeHost(rs, "/proc/cpuinfo", "/etc/os-release"), Date: dateOf(rs)}
	if *commands != "" {
		b, err := os.ReadFile(*commands)
		if err != nil {
			fmt.Fprintf(stderr, "report: %v\n", err)
			return 1
		}
		rep.Commands = string(b)
	}
	old, err := os.ReadFile(*out)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	doc, err := Splice(string(old), Render(rep))
	if err != nil {
		fmt.Fprintf(stderr, "report: %s: %v\n", *out, err)
		return 1
	}
	if err := os.WriteFile(*out, []byte(doc), 0o644); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "report: %d results from %s written to %s\n", len(rs), *results, *out)
	return 0
}

// Splice replaces the text between the marker lines of doc with block, or
// appends Heading and the markers around block if doc has none.
func Splice(doc, block string) (string, error) {
	block = strings.TrimRight(block, "\n") + "\n"
	begin := strings.Index(doc, BeginMarker+"\n")
	end := strings.Index(doc, EndMarker)
	switch {
	case begin < 0 && end < 0:
		if doc != "" && !strings.HasSuffix(doc, "\n") {
			doc += "\n"
		}
		if doc != "" {
			doc += "\n"
		}
		return doc + Heading + "\n\n" + BeginMarker + "\n" + block + EndMarker + "\n", nil
	case begin < 0 || end < 0 || end < begin:
		return "", fmt.Errorf("the markers %s and %s are not a begin/end pair", BeginMarker, EndMarker)
	}
	start := begin + len(BeginMarker) + 1
	return doc[:start] + block + doc[end:], nil
}

// DescribeHost returns the machine of the results (cores and memory as the
// generator saw them), the CPU model from cpuinfo and the OS name from
// osRelease; unreadable files leave their field empty.
func DescribeHost(rs []*Result, cpuinfo, osRelease string) Host {
	var h Host
	for _, r := range rs {
		if r.Machine.Cores > 0 {
			h.Cores, h.MemGiB = r.Machine.Cores, r.Machine.MemGiB
			break
		}
	}
	h.CPU = field(cpuinfo, "model name", ":")
	h.OS = strings.Trim(field(osRelease, "PRETTY_NAME", "="), `"`)
	return h
}

// field returns the value of the first line of file whose key (before sep)
// is name.
func field(file, name, sep string) string {
	f, err := os.Open(file)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// dateOf returns the day (UTC) of the latest result's start.
func dateOf(rs []*Result) string {
	var last time.Time
	for _, r := range rs {
		if t, err := time.Parse(time.RFC3339, r.Started); err == nil && t.After(last) {
			last = t
		}
	}
	if last.IsZero() {
		return "(date unknown)"
	}
	return last.UTC().Format("2006-01-02 15:04 UTC")
}
