package local_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/local"
)

func ref(name string) providers.InstanceRef {
	return providers.InstanceRef{Namespace: "t", Name: name, UID: "uid-" + name}
}

func workerSpec(name string, policy providers.RestartPolicy, args ...string) *providers.InstanceSpec {
	return &providers.InstanceSpec{
		Ref:                    ref(name),
		Containers:             []providers.ContainerSpec{{Name: "w", Image: "worker", Args: args}},
		RestartPolicy:          policy,
		TerminationGracePeriod: 5 * time.Second,
	}
}

// waitStatus polls List until cond holds for uid.
func waitStatus(t *testing.T, b *local.Backend, uid string, cond func(providers.InstanceStatus) bool) providers.InstanceStatus {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	var last providers.InstanceStatus
	for time.Now().Before(deadline) {
		list, err := b.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range list {
			if st.Ref.UID == uid {
				last = st
				if cond(st) {
					return st
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: condition not met; last %+v", uid, last)
	return last
}

func running(st providers.InstanceStatus) bool {
	return st.Phase == providers.PhaseRunning && st.Containers[0].State == providers.ContainerRunning
}

func readLog(t *testing.T, b *local.Backend, r providers.InstanceRef, o providers.LogOptions) string {
	t.Helper()
	rc, err := b.Logs(context.Background(), r, "w", o)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func waitLog(t *testing.T, b *local.Backend, r providers.InstanceRef, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := readLog(t, b, r, providers.LogOptions{})
		if strings.Contains(s, want) || time.Now().After(deadline) {
			if !strings.Contains(s, want) {
				t.Fatalf("log never showed %q: %q", want, s)
			}
			return s
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pidOf(t *testing.T, dir, uid string) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "pods", uid, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Containers []struct{ PID int }
	}
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st.Containers[0].PID
}

func TestReadoptAfterClose(t *testing.T) {
	b, o := newBackend(t)
	ctx := context.Background()
	names := []string{"a", "b", "c"}
	for _, n := range names {
		if err := b.Create(ctx, workerSpec(n, providers.RestartAlways, "readopt-marker-"+n)); err != nil {
			t.Fatal(err)
		}
	}
	pids := map[string]int{}
	for _, n := range names {
		waitStatus(t, b, "uid-"+n, running)
		pids[n] = pidOf(t, o.Dir, "uid-"+n)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// Kill c while no backend watches it.
	if err := syscall.Kill(pids["c"], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	b2, err := local.New(o)
	if err != nil {
		t.Fatalf("New on the same directory: %v", err)
	}
	t.Cleanup(func() { closeClean(t, b2) })
	for _, n := range []string{"a", "b"} {
		st := waitStatus(t, b2, "uid-"+n, running)
		if st.Containers[0].RestartCount != 0 || pidOf(t, o.Dir, "uid-"+n) != pids[n] {
			t.Fatalf("%s was restarted instead of re-adopted: %+v", n, st)
		}
		if got := processesWith(t, "readopt-marker-"+n); got != 1 {
			t.Fatalf("%d processes for %s after re-adoption, want 1", got, n)
		}
	}
	st := waitStatus(t, b2, "uid-c", func(st providers.InstanceStatus) bool {
		return running(st) && st.Containers[0].RestartCount == 1
	})
	if pidOf(t, o.Dir, "uid-c") == pids["c"] {
		t.Fatalf("c not restarted: %+v", st)
	}
	// A re-adopted process is still stopped by Delete.
	if err := b2.Delete(ctx, ref("a")); err != nil {
		t.Fatal(err)
	}
	if got := processesWith(t, "readopt-marker-a"); got != 0 {
		t.Fatalf("%d processes left after deleting a re-adopted instance", got)
	}
	// Create of a re-adopted UID does not start a duplicate.
	if err := b2.Create(ctx, workerSpec("b", providers.RestartAlways, "readopt-marker-b")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if got := processesWith(t, "readopt-marker-b"); got != 1 {
		t.Fatalf("%d processes for b after a repeated Create, want 1", got)
	}
}

func TestReadoptedExitIsNoticed(t *testing.T) {
	b, o := newBackend(t)
	ctx := context.Background()
	if err := b.Create(ctx, workerSpec("n", providers.RestartNever, "-exit-after=700ms", "-exit-code=4")); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, "uid-n", running)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := local.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClean(t, b2) })
	st := waitStatus(t, b2, "uid-n", func(st providers.InstanceStatus) bool { return st.Phase == providers.PhaseFailed })
	if c := st.Containers[0]; c.Reason != "ContainerStatusUnknown" || c.ExitCode != 137 {
		t.Fatalf("adopted process exit: %+v, want ContainerStatusUnknown/137", c)
	}
}

func TestSecondBackendOnSameDirIsRefused(t *testing.T) {
	_, o := newBackend(t)
	if _, err := local.New(o); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second New on a locked directory = %v, want an in-use error", err)
	}
}

func TestGracePeriodThenKill(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		grace      time.Duration
		minT, maxT time.Duration
	}{
		// Upper bounds stay below the grace period (so SIGKILL was not needed) with
		// room for a loaded CI machine.
		{name: "exits on SIGTERM", args: []string{"grace-marker-1"}, grace: 10 * time.Second, maxT: 6 * time.Second},
		{name: "slow SIGTERM handler within grace", args: []string{"-term-delay=500ms", "grace-marker-2"}, grace: 10 * time.Second,
			minT: 400 * time.Millisecond, maxT: 6 * time.Second},
		{name: "ignores SIGTERM until SIGKILL", args: []string{"-ignore-term", "grace-marker-3"}, grace: 700 * time.Millisecond,
			minT: 650 * time.Millisecond, maxT: 4 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newBackend(t)
			spec := workerSpec("g", providers.RestartAlways, tc.args...)
			spec.TerminationGracePeriod = tc.grace
			if err := b.Create(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			waitStatus(t, b, spec.Ref.UID, running)
			waitLog(t, b, spec.Ref, "worker: started")
			start := time.Now()
			if err := b.Delete(context.Background(), spec.Ref); err != nil {
				t.Fatal(err)
			}
			took := time.Since(start)
			if took < tc.minT || took > tc.maxT {
				t.Fatalf("Delete took %v, want between %v and %v", took, tc.minT, tc.maxT)
			}
			marker := tc.args[len(tc.args)-1]
			if n := processesWith(t, marker); n != 0 {
				t.Fatalf("%d processes left after Delete", n)
			}
		})
	}
}

func TestRestartBackoffAndPolicy(t *testing.T) {
	tests := []struct {
		name     string
		policy   providers.RestartPolicy
		code     string
		phase    providers.Phase
		restarts int32
	}{
		{name: "never fails", policy: providers.RestartNever, code: "5", phase: providers.PhaseFailed},
		{name: "on failure restarts failures", policy: providers.RestartOnFailure, code: "5", phase: providers.PhaseRunning, restarts: 2},
		{name: "on failure stops on success", policy: providers.RestartOnFailure, code: "0", phase: providers.PhaseSucceeded},
		{name: "always restarts successes", policy: providers.RestartAlways, code: "0", phase: providers.PhaseRunning, restarts: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newBackend(t)
			spec := workerSpec("r", tc.policy, "-exit-after=50ms", "-exit-code="+tc.code)
			if err := b.Create(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			st := waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool {
				return st.Phase == tc.phase && st.Containers[0].RestartCount >= tc.restarts
			})
			if tc.restarts == 0 {
				c := st.Containers[0]
				if c.State != providers.ContainerTerminated || c.RestartCount != 0 || c.ExitCode != int32(tc.code[0]-'0') {
					t.Fatalf("container %+v", c)
				}
			}
		})
	}
}

func TestBackoffGrows(t *testing.T) {
	b, _ := newBackend(t, func(o *local.Options) { o.BackoffInitial, o.BackoffMax = 200*time.Millisecond, 800*time.Millisecond })
	spec := workerSpec("bo", providers.RestartAlways, "-exit-after=1ms", "-exit-code=1")
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, n := range []int32{1, 2, 3} {
		st := waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool {
			c := st.Containers[0]
			return c.RestartCount == n && c.Reason == "CrashLoopBackOff"
		})
		msgs = append(msgs, st.Containers[0].Message)
	}
	for i, want := range []string{"back-off 400ms", "back-off 800ms", "back-off 800ms"} {
		if !strings.Contains(msgs[i], want) {
			t.Fatalf("back-off messages %q, want %q at %d", msgs, want, i)
		}
	}
}

func TestPurge(t *testing.T) {
	b, o := newBackend(t)
	for _, n := range []string{"p1", "p2"} {
		if err := b.Create(context.Background(), workerSpec(n, providers.RestartAlways, "purge-marker")); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, b, "uid-"+n, running)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := local.Purge(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if n := processesWith(t, "purge-marker"); n != 0 {
		t.Fatalf("%d processes left after Purge", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(o.Dir, "pods")); len(entries) != 0 {
		t.Fatalf("%d instance directories left after Purge", len(entries))
	}
}
