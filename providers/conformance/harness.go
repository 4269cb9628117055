// Package conformance is the one test body every providers.Backend must pass.
//
// A backend's own test calls Run with a Harness that knows how to build a fresh
// backend and how to express a few workloads (a container that runs until deleted,
// one that exits 0, one that exits non-zero, one the backend cannot run) in that
// backend's terms:
//
//	func TestConformance(t *testing.T) {
//		conformance.Run(t, conformance.Harness{
//			Name:      "local",
//			New:       func(t *testing.T) providers.Backend { ... },
//			Container: func(w conformance.Workload) (providers.ContainerSpec, bool) { ... },
//		})
//	}
//
// Run drives the backend only through the providers contract, so the same body
// checks the fake, the local process backend and the ACI backend against its fake
// server. Subtests a backend cannot take part in (a fake server that cannot make a
// container exit, say) are skipped by name through Harness.Skip, with a reason that
// shows in the test output; nothing is skipped silently.
package conformance

import (
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// Workload names what a test instance's container does.
type Workload string

// Workloads the suite asks a Harness to express.
const (
	// RunForever runs until the instance is deleted and exits promptly on SIGTERM
	// (or the backend's equivalent).
	RunForever Workload = "RunForever"
	// ExitZero exits with code 0 within a few seconds of starting.
	ExitZero Workload = "ExitZero"
	// ExitNonZero exits with a non-zero code within a few seconds of starting.
	ExitNonZero Workload = "ExitNonZero"
	// Unrunnable names an image the backend cannot run (unknown or unpullable): the
	// backend either rejects Create with an Unsupported error or reports the instance
	// Failed with a reason.
	Unrunnable Workload = "Unrunnable"
)

// Harness adapts one backend to the suite.
type Harness struct {
	// Name is the backend's name, used in messages.
	Name string
	// New returns a fresh backend holding no instances. It registers its own
	// cleanup with t.Cleanup. Required.
	New func(t *testing.T) providers.Backend
	// Container returns a container that performs w, or ok=false if the backend
	// cannot express w (the subtests that need w are then skipped, saying so).
	// The suite fills in Ref, RestartPolicy and TerminationGracePeriod itself.
	// Required.
	Container func(w Workload) (c providers.ContainerSpec, ok bool)
	// Advance is called between two polls while the suite waits for a status.
	// Backends driven by a simulated clock advance it here. Optional.
	Advance func()
	// AfterEach runs at the end of every subtest with that subtest's backend, after
	// every instance the subtest created has been deleted: backend-specific leak
	// checks go here (no process left, no file left). Optional.
	AfterEach func(t *testing.T, b providers.Backend)
	// Skip maps a subtest name (e.g. "RestartAlways") to the reason this backend
	// cannot take part. The subtest is skipped with the reason in its output.
	Skip map[string]string
	// Timeout bounds every wait for a status; default 30 s.
	Timeout time.Duration
	// Interval is the pause between two List calls while waiting; default 50 ms.
	Interval time.Duration
	// Concurrency is the number of goroutines in the concurrency tests; default 16.
	Concurrency int
	// GracePeriod is the TerminationGracePeriod the suite puts in its specs;
	// default 5 s. A RunForever workload must exit well within it on SIGTERM.
	GracePeriod time.Duration
}

func (h *Harness) defaults(t *testing.T) {
	t.Helper()
	if h.New == nil || h.Container == nil {
		t.Fatal("conformance: Harness.New and Harness.Container are required")
	}
	if h.Name == "" {
		h.Name = "backend"
	}
	if h.Timeout <= 0 {
		h.Timeout = 30 * time.Second
	}
	if h.Interval <= 0 {
		h.Interval = 50 * time.Millisecond
	}
	if h.Concurrency <= 0 {
		h.Concurrency = 16
	}
	if h.GracePeriod <= 0 {
		h.GracePeriod = 5 * time.Second
	}
}
