// Command report writes the gander-bench comparison into docs/benchmarks.md:
// the same code as "gander-bench report" (internal/benchreport), runnable
// on its own. bench/compare.sh falls back to it while gander-bench's report
// subcommand is not wired.
//
//	go run ./bench/report --results DIR --out docs/benchmarks.md --commands FILE
package main

import (
	"os"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

func main() {
	os.Exit(benchreport.Run(os.Args[1:], os.Stdout, os.Stderr))
}
