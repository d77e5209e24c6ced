package main

import (
	"fmt"
	"io"
)

// runReport builds the markdown report from JSON results. The lead replaces
// this stub with benchreport.Run when merging (see the contract).
func runReport(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "report: not built yet")
	return 2
}
