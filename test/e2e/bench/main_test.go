// Package benche2e runs the bench end to end on the local stack: the embedded
// control plane, a private RabbitMQ, surge-vnode with the local backend running the
// real bench-worker binary and, when it is built, surge-scaler. It checks that runs
// complete with no message lost and write their report and timeline.
package benche2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/surge-autoscaler/surge/bench/stack"
	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	binDir string
	root   string
	st     *stack.Stack
)

func TestMain(m *testing.M) { harness.Main(m, harness.Needs{}, setup) }

// setup builds the binaries (unless $SURGE_BENCH_BIN_DIR holds them) and starts one
// stack for the package: control plane, RabbitMQ, surge-vnode and surge-scaler (the
// manual test has no ScaledObject, so the scaler stays idle).
func setup(ctx context.Context, _ *harness.Env) error {
	var err error
	if root, err = stack.FindRoot(); err != nil {
		return err
	}
	if binDir = os.Getenv("SURGE_BENCH_BIN_DIR"); binDir != "" {
		// Test aid: prebuilt surge, surge-scaler, surge-vnode and bench-worker.
		fmt.Fprintf(os.Stderr, "bench e2e: using the binaries in %s\n", binDir)
	} else {
		if binDir, err = os.MkdirTemp("", "surge-bench-e2e-bin-"); err != nil {
			return err
		}
		harness.AtExit("binaries", func() error { return os.RemoveAll(binDir) })
		if err := build(ctx); err != nil {
			return err
		}
	}
	if st, err = stack.Start(ctx, stack.Options{Root: root, BinDir: binDir, Log: os.Stderr}); err != nil {
		return fmt.Errorf("start the bench stack: %w", err)
	}
	harness.AtExit("bench stack", func() error { st.Stop(); return nil })
	return nil
}

// build compiles the binaries the stack runs into binDir.
func build(ctx context.Context) error {
	for _, pkg := range []string{"./cmd/surge", "./cmd/surge-scaler", "./cmd/surge-vnode", "./bench/cmd/bench-worker"} {
		if _, err := harness.GoBuild(ctx, binDir, pkg); err != nil {
			return err
		}
	}
	return nil
}
