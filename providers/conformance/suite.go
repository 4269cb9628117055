package conformance

import (
	"reflect"
	"sync"
	"testing"

	"github.com/surge-autoscaler/surge/providers"
)

// Run runs every conformance subtest against the backend h describes. Each subtest
// gets a fresh backend from h.New, deletes everything it created at the end and
// then calls h.AfterEach.
func Run(t *testing.T, h Harness) {
	h.defaults(t)
	tests := []struct {
		name string
		fn   func(e *env)
	}{
		{"EmptyList", testEmptyList},
		{"Capacity", testCapacity},
		{"CreateRunDelete", testCreateRunDelete},
		{"CreateIsIdempotent", testCreateIsIdempotent},
		{"CreateDoesNotModifySpec", testCreateDoesNotModifySpec},
		{"ListReturnsCopies", testListReturnsCopies},
		{"ConcurrentCreates", testConcurrentCreates},
		{"ConcurrentDeletes", testConcurrentDeletes},
		{"DeleteUnknown", testDeleteUnknown},
		{"DeleteWhileStarting", testDeleteWhileStarting},
		{"RecreateWithNewUID", testRecreateWithNewUID},
		{"TwoContainers", testTwoContainers},
		{"ExitZeroSucceeds", testExitZeroSucceeds},
		{"ExitNonZeroFails", testExitNonZeroFails},
		{"OnFailureExitZero", testOnFailureExitZero},
		{"RestartAlways", testRestartAlways},
		{"Unrunnable", testUnrunnable},
		{"Logs", testLogs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if reason, ok := h.Skip[tc.name]; ok {
				t.Skipf("%s: %s", h.Name, reason)
			}
			e := newEnv(t, &h)
			t.Cleanup(e.deleteAll)
			tc.fn(e)
		})
	}
}

func testEmptyList(e *env) {
	list, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List on a fresh backend: %v", err)
	}
	if len(list) != 0 {
		e.t.Fatalf("List on a fresh backend returned %d instances, want 0", len(list))
	}
}

func testCapacity(e *env) {
	c, err := e.b.Capacity(e.ctx)
	if err != nil {
		e.t.Fatalf("Capacity: %v", err)
	}
	if c.Pods <= 0 || c.MilliCPU < 0 || c.MemoryBytes < 0 {
		e.t.Fatalf("Capacity = %+v, want Pods > 0 and no negative value", c)
	}
}

// monotonic returns a check that fails the test if the phase goes backwards.
func monotonic(e *env) func(providers.InstanceStatus) {
	best := -1
	return func(st providers.InstanceStatus) {
		r := phaseRank(st.Phase)
		if r < 0 {
			return
		}
		if r < best {
			e.t.Fatalf("%s: phase went backwards to %s: %s", st.Ref.Name, st.Phase, describe(st))
		}
		best = r
	}
}

func testCreateRunDelete(e *env) {
	ref := e.ref("lifecycle")
	spec := e.spec(ref, RunForever, providers.RestartAlways)
	e.mustCreate(spec)
	st := e.waitFor(ref, "Running", func(st providers.InstanceStatus, ok bool) bool {
		return ok && st.Phase == providers.PhaseRunning
	}, monotonic(e))
	if st.CreatedAt.IsZero() {
		e.t.Errorf("CreatedAt is zero: %s", describe(st))
	}
	if len(st.Containers) != 1 {
		e.t.Fatalf("got %d container statuses, want 1: %s", len(st.Containers), describe(st))
	}
	c := st.Containers[0]
	if c.Name != spec.Containers[0].Name || c.State != providers.ContainerRunning || c.StartedAt.IsZero() {
		e.t.Errorf("container status = %+v, want %q Running with StartedAt", c, spec.Containers[0].Name)
	}
	if err := e.b.Delete(e.ctx, ref); err != nil {
		e.t.Fatalf("Delete: %v", err)
	}
	e.waitGone(ref)
	if err := e.b.Delete(e.ctx, ref); !providers.IsNotFound(err) {
		e.t.Fatalf("Delete of a deleted instance = %v, want NotFound", err)
	}
}

func testCreateIsIdempotent(e *env) {
	ref := e.ref("idempotent")
	spec := e.spec(ref, RunForever, providers.RestartAlways)
	e.mustCreate(spec)
	e.mustCreate(spec)
	first := e.waitPhase(ref, providers.PhaseRunning)
	// A second Create for the same UID with a different spec changes nothing.
	other := spec.DeepCopy()
	other.Containers[0].Args = append(other.Containers[0].Args, "--changed")
	other.Containers[0].Name = "renamed"
	e.mustCreate(other)
	e.mustCreate(spec)
	list, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	st, n := find(list, ref)
	if n != 1 {
		e.t.Fatalf("List shows %d instances for one UID after repeated Create", n)
	}
	if len(st.Containers) != 1 || st.Containers[0].Name != spec.Containers[0].Name {
		e.t.Fatalf("repeated Create changed the instance: %s", describe(st))
	}
	if !st.Containers[0].StartedAt.Equal(first.Containers[0].StartedAt) || st.Containers[0].RestartCount != 0 {
		e.t.Fatalf("repeated Create restarted the container: before %s, after %s", describe(first), describe(st))
	}
}

func testCreateDoesNotModifySpec(e *env) {
	ref := e.ref("immutable")
	spec := e.spec(ref, RunForever, providers.RestartAlways)
	spec.Containers[0].Env = append(spec.Containers[0].Env,
		providers.EnvVar{Name: "PLAIN", Value: "v"}, providers.EnvVar{Name: "TOKEN", Value: "s3cret", Secret: true})
	spec.Containers[0].Limits = providers.ResourceList{MilliCPU: 500, MemoryBytes: 256 << 20}
	before := spec.DeepCopy()
	e.mustCreate(spec)
	if !reflect.DeepEqual(before, spec) {
		e.t.Fatalf("Create modified its spec:\nbefore %+v\nafter  %+v", before, spec)
	}
	e.waitPhase(ref, providers.PhaseRunning)
	if !reflect.DeepEqual(before, spec) {
		e.t.Fatalf("the backend modified the spec after Create returned")
	}
}

func testListReturnsCopies(e *env) {
	ref := e.ref("copies")
	e.mustCreate(e.spec(ref, RunForever, providers.RestartAlways))
	st := e.waitPhase(ref, providers.PhaseRunning)
	list, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	for i := range list {
		list[i].Phase = providers.PhaseFailed
		list[i].Ref.Name = "mutated"
		for j := range list[i].Containers {
			list[i].Containers[j].Name = "mutated"
		}
	}
	again := e.waitPhase(ref, providers.PhaseRunning)
	if again.Ref.Name != ref.Name || again.Containers[0].Name != st.Containers[0].Name {
		e.t.Fatalf("mutating List's result changed the backend: %s", describe(again))
	}
}

func testConcurrentCreates(e *env) {
	n := e.h.Concurrency
	shared := e.ref("shared")
	refs := make([]providers.InstanceRef, n)
	specs := make([]*providers.InstanceSpec, n)
	for i := range n {
		if i%2 == 0 {
			refs[i] = shared
		} else {
			refs[i] = e.ref("distinct")
			refs[i].Name = refs[i].Name + "-" + refs[i].UID[len(refs[i].UID)-6:]
		}
		specs[i] = e.spec(refs[i], RunForever, providers.RestartAlways)
		e.created = append(e.created, refs[i])
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = e.b.Create(e.ctx, specs[i]) })
		wg.Go(func() { _, _ = e.b.List(e.ctx) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			e.t.Fatalf("concurrent Create #%d (%s): %v", i, refs[i].Name, err)
		}
	}
	for _, ref := range refs {
		e.waitPhase(ref, providers.PhaseRunning)
	}
	list, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	want := n/2 + 1 // the odd goroutines' distinct UIDs plus the shared one
	if len(list) != want {
		e.t.Fatalf("List shows %d instances after %d concurrent creates of %d distinct UIDs", len(list), n, want)
	}
	for _, ref := range refs {
		if _, c := find(list, ref); c != 1 {
			e.t.Fatalf("List shows %d instances for %s", c, ref.Name)
		}
	}
}

func testConcurrentDeletes(e *env) {
	n := e.h.Concurrency
	refs := make([]providers.InstanceRef, n)
	for i := range n {
		refs[i] = e.ref("del")
		refs[i].Name += "-" + refs[i].UID[len(refs[i].UID)-6:]
		e.mustCreate(e.spec(refs[i], RunForever, providers.RestartAlways))
	}
	for _, ref := range refs {
		e.waitPhase(ref, providers.PhaseRunning)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2*n)
	for i := range n {
		// Two deletes race for each instance: one wins, the other may see NotFound.
		wg.Go(func() { errs[2*i] = e.b.Delete(e.ctx, refs[i]) })
		wg.Go(func() { errs[2*i+1] = e.b.Delete(e.ctx, refs[i]) })
	}
	wg.Wait()
	for i := range n {
		a, b := errs[2*i], errs[2*i+1]
		for _, err := range []error{a, b} {
			if err != nil && !providers.IsNotFound(err) {
				e.t.Fatalf("concurrent Delete(%s): %v", refs[i].Name, err)
			}
		}
		if a != nil && b != nil {
			e.t.Fatalf("both concurrent Deletes of %s failed: %v / %v", refs[i].Name, a, b)
		}
	}
	for _, ref := range refs {
		e.waitGone(ref)
	}
}

func testDeleteUnknown(e *env) {
	err := e.b.Delete(e.ctx, e.ref("never-created"))
	if !providers.IsNotFound(err) {
		e.t.Fatalf("Delete of an unknown instance = %v, want an error with IsNotFound", err)
	}
}

func testDeleteWhileStarting(e *env) {
	ref := e.ref("early-delete")
	e.mustCreate(e.spec(ref, RunForever, providers.RestartAlways))
	if err := e.b.Delete(e.ctx, ref); err != nil {
		e.t.Fatalf("Delete right after Create: %v", err)
	}
	e.waitGone(ref)
}

func testRecreateWithNewUID(e *env) {
	old := e.ref("again")
	e.mustCreate(e.spec(old, RunForever, providers.RestartAlways))
	e.waitPhase(old, providers.PhaseRunning)
	if err := e.b.Delete(e.ctx, old); err != nil {
		e.t.Fatalf("Delete: %v", err)
	}
	e.waitGone(old)
	next := e.ref("again")
	e.mustCreate(e.spec(next, RunForever, providers.RestartAlways))
	e.waitPhase(next, providers.PhaseRunning)
	list, err := e.b.List(e.ctx)
	if err != nil {
		e.t.Fatalf("List: %v", err)
	}
	if _, n := find(list, old); n != 0 {
		e.t.Fatalf("the deleted UID came back after a re-create with a new UID")
	}
}

func testTwoContainers(e *env) {
	ref := e.ref("pair")
	spec := e.spec(ref, RunForever, providers.RestartAlways)
	second := spec.Containers[0]
	second.Name = "sidecar"
	spec.Containers = append(spec.Containers, second)
	e.mustCreate(spec)
	st := e.waitFor(ref, "both containers Running", func(st providers.InstanceStatus, ok bool) bool {
		if !ok || st.Phase != providers.PhaseRunning || len(st.Containers) != 2 {
			return false
		}
		return st.Containers[0].State == providers.ContainerRunning && st.Containers[1].State == providers.ContainerRunning
	}, nil)
	names := map[string]bool{st.Containers[0].Name: true, st.Containers[1].Name: true}
	if !names["main"] || !names["sidecar"] {
		e.t.Fatalf("container statuses %s, want main and sidecar", describe(st))
	}
}
