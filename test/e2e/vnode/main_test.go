// Package vnodee2e runs surge-vnode, the real binary, against the embedded control
// plane: the real scheduler binds pods that tolerate the virtual node's taint to
// it, and the local backend runs them as real processes (the fixture worker,
// which takes work from a local work server). There is no kubelet: the virtual
// node is the only node.
package vnodee2e

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/surge-autoscaler/surge/test/fixtures"
	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	cluster             *harness.Cluster
	vnodeBin, workerBin string
	work                *fixtures.WorkServer
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{ControlPlane: true}, setup)
}

// setup builds surge-vnode and the worker fixture into a private directory and
// starts the work server.
func setup(ctx context.Context, env *harness.Env) error {
	cluster = env.Cluster
	binDir, err := os.MkdirTemp("", "surge-vnode-e2e-bin-")
	if err != nil {
		return err
	}
	harness.AtExit("binaries", func() error { killLeftovers(binDir); return os.RemoveAll(binDir) })
	if workerBin, err = fixtures.Build(binDir, "worker"); err != nil {
		return err
	}
	if vnodeBin, err = harness.GoBuild(ctx, binDir, "./cmd/surge-vnode"); err != nil {
		return err
	}
	if work, err = fixtures.StartWorkServer(); err != nil {
		return err
	}
	harness.AtExit("work server", work.Close)
	return nil
}

// killLeftovers kills, by PID, any process still running a program from dir:
// surge-vnode or workers that a failed test left behind. Only processes this test
// binary started can run from its private directory.
func killLeftovers(dir string) {
	for _, pid := range processesRunning(dir) {
		fmt.Fprintf(os.Stderr, "vnode e2e: killing leftover process %d\n", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// processesRunning returns the PIDs of live processes whose executable is under
// dir, or whose command line contains marker when dir is a marker.
func processesRunning(marker string) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil || len(cmdline) == 0 {
			continue
		}
		stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(strings.TrimSpace(string(stat)[i+1:]), "Z") {
			continue // a zombie is not running
		}
		if strings.Contains(string(cmdline), marker) {
			out = append(out, pid)
		}
	}
	return out
}
