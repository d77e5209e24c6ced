package main

import (
	"io"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// runReport builds the markdown report from JSON results
// (internal/benchreport; `gander-bench report --help`).
func runReport(args []string, stdout, stderr io.Writer) int {
	return benchreport.Run(args, stdout, stderr)
}
