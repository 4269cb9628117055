// Command cpbuild builds the surge-controlplane binary into the harness cache (once per
// machine and source version) and prints its path. `make controlplane` runs it; tests
// and the demo call the same code through harness.EnsureControlPlane.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/surge-autoscaler/surge/test/harness"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	bin, err := harness.EnsureControlPlane(ctx, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "cpbuild: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(bin)
}
