// Package benche2e runs the bench end to end on the local stack: the embedded
// control plane, a private RabbitMQ, surge-vnode with the local backend running the
// real bench-worker binary and, when it is built, surge-scaler. It checks that runs
// complete with no message lost and write their report and timeline.
package benche2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/bench/stack"
	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	binDir string
	root   string
	st     *stack.Stack
	setup  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if testing.Short() {
		return m.Run() // every test here is an integration test and skips itself
	}
	var err error
	if root, err = stack.FindRoot(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if binDir = os.Getenv("SURGE_BENCH_BIN_DIR"); binDir != "" {
		// Test aid: prebuilt surge, surge-scaler, surge-vnode and bench-worker.
		fmt.Fprintf(os.Stderr, "bench e2e: using the binaries in %s\n", binDir)
	} else {
		if binDir, err = os.MkdirTemp("", "surge-bench-e2e-bin-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(binDir)
		setup = build(ctx)
	}
	if setup == nil {
		// One stack for the package: control plane, RabbitMQ, surge-vnode and
		// surge-scaler (the manual test has no ScaledObject, so the scaler stays idle).
		st, setup = stack.Start(ctx, stack.Options{Root: root, BinDir: binDir, Log: os.Stderr})
		if setup == nil {
			defer st.Stop()
		}
	}
	return m.Run()
}

// needStack fails the test when the stack could not start.
func needStack(t *testing.T) {
	t.Helper()
	harness.Integration(t)
	if setup != nil {
		t.Fatalf("the bench stack did not start (control plane: make controlplane; RabbitMQ: apt-get install -y rabbitmq-server): %v", setup)
	}
}

// build compiles the binaries the stack runs into binDir.
func build(ctx context.Context) error {
	pkgs := map[string]string{
		"surge":        "./cmd/surge",
		"surge-scaler": "./cmd/surge-scaler",
		"surge-vnode":  "./cmd/surge-vnode",
		"bench-worker": "./bench/cmd/bench-worker",
	}
	for name, pkg := range pkgs {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(binDir, name), pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}
