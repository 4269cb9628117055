// Package vnodebench benchmarks surge-vnode against the embedded control plane: how
// long from a pod's binding to the backend's Create call and to the pod's
// Running status, for 100 pods on the local backend (real processes) and 1,000 on
// the fake; and 0→100 pods Running on the local backend. Run:
//
//	go test -run '^$' -bench . -benchtime 3x ./bench/vnode/
//
// The virtual node runs in-process (vnode.Run) over a backend wrapper that
// records when Create is called; the benchmark's own pod informer records when
// each pod is first seen bound and first seen Running. "Bound" is therefore when
// the benchmark's watch saw the binding: on a loaded machine the node's own watch
// may see it earlier, and bound-to-create can come out negative.
// BenchmarkTrackerPass1000 needs no control plane and runs under -short.
package vnodebench

import (
	"context"
	"io"
	"testing"

	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	cluster   *harness.Cluster
	workerBin string
)

func TestMain(m *testing.M) {
	// client-go logs through klog; keep benchmark output parseable by benchstat.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	harness.Main(m, harness.Needs{ControlPlane: true}, setup)
}

// setup builds the worker fixture the local backend runs.
func setup(_ context.Context, env *harness.Env) error {
	cluster = env.Cluster
	var err error
	workerBin, err = harness.BuildFixture("worker")
	return err
}
