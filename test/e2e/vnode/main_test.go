// Package vnodee2e runs surge-vnode, the real binary, against the embedded control
// plane: the real scheduler binds pods that tolerate the virtual node's taint to
// it, and the local backend runs them as real processes (the fixture worker,
// which takes work from a local work server). There is no kubelet: the virtual
// node is the only node.
package vnodee2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/test/fixtures"
	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	cluster             *harness.Cluster
	binDir              string // holds surge-vnode and the worker fixture
	vnodeBin, workerBin string
	work                *fixtures.WorkServer
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if testing.Short() {
		return m.Run() // every test here is an integration test and skips itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var err error
	if binDir, err = os.MkdirTemp("", "surge-vnode-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	defer killLeftovers(binDir)
	if workerBin, err = fixtures.Build(binDir, "worker"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	vnodeBin = filepath.Join(binDir, "surge-vnode")
	build := exec.CommandContext(ctx, "go", "build", "-o", vnodeBin, "github.com/surge-autoscaler/surge/cmd/surge-vnode")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build surge-vnode (needs the go tool): %v\n%s", err, out)
		return 1
	}
	if work, err = fixtures.StartWorkServer(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer work.Close()
	cluster, err = harness.StartCluster(ctx, harness.ClusterOptions{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "vnode e2e: %v (the control plane is built by `make controlplane`)\n", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "vnode e2e: stop cluster: %v\n", err)
		}
	}()
	return m.Run()
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
