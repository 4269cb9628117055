package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

var uidSeq atomic.Int64

// env is one subtest's view of the backend under test.
type env struct {
	t   *testing.T
	h   *Harness
	b   providers.Backend
	ctx context.Context
	// created lists every ref the subtest created, for the final cleanup.
	created []providers.InstanceRef
}

func newEnv(t *testing.T, h *Harness) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return &env{t: t, h: h, b: h.New(t), ctx: ctx}
}

// ref returns a fresh instance reference with a unique UID.
func (e *env) ref(name string) providers.InstanceRef {
	n := uidSeq.Add(1)
	return providers.InstanceRef{
		Namespace: "conformance",
		Name:      name,
		UID:       fmt.Sprintf("00000000-0000-4000-8000-%012d", n),
	}
}

// spec builds a one-container spec for w, skipping the subtest if the backend
// cannot express w.
func (e *env) spec(ref providers.InstanceRef, w Workload, policy providers.RestartPolicy) *providers.InstanceSpec {
	e.t.Helper()
	c, ok := e.h.Container(w)
	if !ok {
		e.t.Skipf("%s cannot express workload %s", e.h.Name, w)
	}
	if c.Name == "" {
		c.Name = "main"
	}
	return &providers.InstanceSpec{
		Ref:                    ref,
		Labels:                 map[string]string{"app": "conformance", "workload": string(w)},
		Containers:             []providers.ContainerSpec{c},
		RestartPolicy:          policy,
		TerminationGracePeriod: e.h.GracePeriod,
	}
}

func (e *env) create(spec *providers.InstanceSpec) error {
	e.created = append(e.created, spec.Ref)
	return e.b.Create(e.ctx, spec)
}

func (e *env) mustCreate(spec *providers.InstanceSpec) {
	e.t.Helper()
	if err := e.create(spec); err != nil {
		e.t.Fatalf("%s: Create(%s): %v", e.h.Name, spec.Ref.Name, err)
	}
}

// find returns the status of ref in list (matched by UID) and how many entries
// carry that UID.
func find(list []providers.InstanceStatus, ref providers.InstanceRef) (providers.InstanceStatus, int) {
	var st providers.InstanceStatus
	n := 0
	for _, s := range list {
		if s.Ref.UID == ref.UID {
			st = s
			n++
		}
	}
	return st, n
}

// waitFor polls List until cond holds for ref's status (present=false when the
// instance is absent). It fails the test after the harness timeout, printing the
// last status seen. check, if not nil, runs on every observed status and may fail
// the test (e.g. a phase going backwards).
func (e *env) waitFor(ref providers.InstanceRef, what string, cond func(st providers.InstanceStatus, present bool) bool,
	check func(st providers.InstanceStatus)) providers.InstanceStatus {
	e.t.Helper()
	deadline := time.Now().Add(e.h.Timeout)
	var last providers.InstanceStatus
	var lastErr error
	for {
		list, err := e.b.List(e.ctx)
		if err == nil {
			st, n := find(list, ref)
			if n > 1 {
				e.t.Fatalf("%s: List returned %d instances for UID %s", e.h.Name, n, ref.UID)
			}
			if n == 1 {
				if st.Ref != ref {
					e.t.Fatalf("%s: List returned ref %+v for UID %s, want %+v", e.h.Name, st.Ref, ref.UID, ref)
				}
				if check != nil {
					check(st)
				}
			}
			last, lastErr = st, nil
			if cond(st, n == 1) {
				return st
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: %s: not reached after %v; last status %s; last List error: %v",
				e.h.Name, ref.Name, e.h.Timeout, describe(last), lastErr)
		}
		if e.h.Advance != nil {
			e.h.Advance()
		}
		time.Sleep(e.h.Interval)
	}
}

func (e *env) waitPhase(ref providers.InstanceRef, phases ...providers.Phase) providers.InstanceStatus {
	e.t.Helper()
	want := fmt.Sprint(phases)
	return e.waitFor(ref, "phase "+want, func(st providers.InstanceStatus, present bool) bool {
		if !present {
			return false
		}
		for _, p := range phases {
			if st.Phase == p {
				return true
			}
		}
		return false
	}, nil)
}

func (e *env) waitGone(ref providers.InstanceRef) {
	e.t.Helper()
	e.waitFor(ref, "absent", func(_ providers.InstanceStatus, present bool) bool { return !present }, nil)
}

// deleteAll deletes everything the subtest created and waits until List no longer
// shows any of it, then runs the harness's AfterEach.
func (e *env) deleteAll() {
	e.t.Helper()
	seen := map[string]bool{}
	for _, ref := range e.created {
		if seen[ref.UID] {
			continue
		}
		seen[ref.UID] = true
		if err := e.b.Delete(e.ctx, ref); err != nil && !providers.IsNotFound(err) {
			e.t.Errorf("%s: cleanup Delete(%s): %v", e.h.Name, ref.Name, err)
		}
	}
	for uid := range seen {
		for _, ref := range e.created {
			if ref.UID == uid {
				e.waitGone(ref)
				break
			}
		}
	}
	if e.h.AfterEach != nil {
		e.h.AfterEach(e.t, e.b)
	}
}

func describe(st providers.InstanceStatus) string {
	if st.Ref.UID == "" {
		return "<absent>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s reason=%q message=%q", st.Phase, st.Reason, st.Message)
	for _, c := range st.Containers {
		fmt.Fprintf(&b, " [%s %s reason=%q exit=%d restarts=%d]", c.Name, c.State, c.Reason, c.ExitCode, c.RestartCount)
	}
	return b.String()
}

// phaseRank orders phases so the suite can check they never go backwards.
func phaseRank(p providers.Phase) int {
	switch p {
	case providers.PhasePending:
		return 0
	case providers.PhaseRunning:
		return 1
	case providers.PhaseSucceeded, providers.PhaseFailed:
		return 2
	}
	return -1 // Unknown may appear at any time
}
