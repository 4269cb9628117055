package charts_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

// cluster is the package's control plane; nil under -short (unit tests only).
var cluster *harness.Cluster

// TestMain starts one control plane for the package's integration tests, unless
// -short asks for unit tests only.
func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	c, err := harness.StartCluster(ctx, harness.ClusterOptions{})
	cancel()
	if err != nil {
		fmt.Fprintf(os.Stderr, "test/charts: cannot start the control plane (build it with `make controlplane`): %v\n", err)
		os.Exit(1)
	}
	cluster = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "test/charts: stop control plane: %v\n", err)
	}
	os.Exit(code)
}
