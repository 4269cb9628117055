package fake_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/conformance"
	"github.com/surge-autoscaler/surge/providers/fake"
)

var behaviors = map[string]fake.Behavior{
	"exit-zero":  {StartAfter: 100 * time.Millisecond, ExitAfter: 300 * time.Millisecond},
	"exit-one":   {StartAfter: 100 * time.Millisecond, ExitAfter: 300 * time.Millisecond, ExitCode: 1, RestartBackoff: time.Second},
	"unpullable": {StartAfter: 100 * time.Millisecond, FailReason: "ErrImagePull"},
}

func TestConformance(t *testing.T) {
	var mu sync.Mutex
	var clk *clocktesting.FakeClock
	conformance.Run(t, conformance.Harness{
		Name: "fake",
		New: func(t *testing.T) providers.Backend {
			mu.Lock()
			defer mu.Unlock()
			clk = clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
			return fake.New(fake.Options{Clock: clk, Default: fake.Behavior{StartAfter: 200 * time.Millisecond}, Behaviors: behaviors})
		},
		Container: func(w conformance.Workload) (providers.ContainerSpec, bool) {
			img := map[conformance.Workload]string{
				conformance.RunForever: "run-forever", conformance.ExitZero: "exit-zero",
				conformance.ExitNonZero: "exit-one", conformance.Unrunnable: "unpullable",
			}[w]
			return providers.ContainerSpec{Name: "main", Image: img, Args: []string{conformance.LogMarker}}, true
		},
		Advance: func() {
			mu.Lock()
			defer mu.Unlock()
			clk.Step(100 * time.Millisecond)
		},
		Interval: time.Millisecond,
		Timeout:  5 * time.Second,
	})
}

func spec(uid, image string, p providers.RestartPolicy) *providers.InstanceSpec {
	return &providers.InstanceSpec{
		Ref:           providers.InstanceRef{Namespace: "ns", Name: "pod-" + uid, UID: uid},
		Containers:    []providers.ContainerSpec{{Name: "c", Image: image}},
		RestartPolicy: p,
	}
}

func statusOf(t *testing.T, b *fake.Backend, uid string) providers.InstanceStatus {
	t.Helper()
	list, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Ref.UID == uid {
			return s
		}
	}
	t.Fatalf("no instance %s", uid)
	return providers.InstanceStatus{}
}

func TestLifecycle(t *testing.T) {
	tests := []struct {
		name      string
		image     string
		policy    providers.RestartPolicy
		after     time.Duration
		phase     providers.Phase
		state     providers.ContainerState
		restarts  int32
		exitCode  int32
		reasonSub string
	}{
		{name: "pending before start", image: "run", after: 50 * time.Millisecond, phase: providers.PhasePending, state: providers.ContainerWaiting},
		{name: "running after start", image: "run", after: 200 * time.Millisecond, phase: providers.PhaseRunning, state: providers.ContainerRunning},
		{name: "exit zero never", image: "exit-zero", policy: providers.RestartNever, after: time.Second, phase: providers.PhaseSucceeded, state: providers.ContainerTerminated},
		{name: "exit one never", image: "exit-one", policy: providers.RestartNever, after: time.Second, phase: providers.PhaseFailed, state: providers.ContainerTerminated, exitCode: 1},
		{name: "exit one on failure restarts", image: "exit-one", policy: providers.RestartOnFailure, after: 1500 * time.Millisecond, phase: providers.PhaseRunning, state: providers.ContainerRunning, restarts: 1},
		{name: "exit one always backing off", image: "exit-one", policy: providers.RestartAlways, after: 600 * time.Millisecond, phase: providers.PhaseRunning, state: providers.ContainerWaiting, exitCode: 1, reasonSub: "CrashLoopBackOff"},
		{name: "exit zero always restarts", image: "exit-zero", policy: providers.RestartAlways, after: 1100 * time.Millisecond, phase: providers.PhaseRunning, state: providers.ContainerRunning, restarts: 3},
		{name: "unpullable fails", image: "unpullable", after: time.Second, phase: providers.PhaseFailed, state: providers.ContainerWaiting, reasonSub: "ErrImagePull"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
			b := fake.New(fake.Options{Clock: clk, Default: fake.Behavior{StartAfter: 100 * time.Millisecond}, Behaviors: behaviors})
			if err := b.Create(context.Background(), spec("u1", tc.image, tc.policy)); err != nil {
				t.Fatal(err)
			}
			clk.Step(tc.after)
			st := statusOf(t, b, "u1")
			c := st.Containers[0]
			if st.Phase != tc.phase || c.State != tc.state || c.RestartCount != tc.restarts || c.ExitCode != tc.exitCode {
				t.Fatalf("got phase %s container %+v; want phase %s state %s restarts %d exit %d", st.Phase, c, tc.phase, tc.state, tc.restarts, tc.exitCode)
			}
			if tc.reasonSub != "" && c.Reason != tc.reasonSub {
				t.Fatalf("container reason %q, want %q", c.Reason, tc.reasonSub)
			}
		})
	}
}

func TestInjectedErrors(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name    string
		setup   func(b *fake.Backend)
		wantErr func(error) bool
		wantLen int
	}{
		{name: "fail next create", setup: func(b *fake.Backend) { b.FailNext(fake.OpCreate, boom) },
			wantErr: func(err error) bool { return errors.Is(err, boom) }, wantLen: 0},
		{name: "rate one transient", setup: func(b *fake.Backend) { b.SetErrorRate(fake.OpCreate, fake.Rate{Fraction: 1}) },
			wantErr: providers.IsTransient, wantLen: 0},
		{name: "rate one quota after effect", setup: func(b *fake.Backend) {
			b.SetErrorRate(fake.OpCreate, fake.Rate{Fraction: 1, Kind: providers.KindQuotaExceeded, AfterEffect: true})
		}, wantErr: providers.IsQuotaExceeded, wantLen: 1},
		{name: "no injection", setup: func(*fake.Backend) {}, wantErr: func(err error) bool { return err == nil }, wantLen: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := fake.New(fake.Options{})
			tc.setup(b)
			err := b.Create(context.Background(), spec("u", "img", providers.RestartAlways))
			if !tc.wantErr(err) {
				t.Fatalf("Create error %v not as expected", err)
			}
			if b.Len() != tc.wantLen {
				t.Fatalf("Len = %d, want %d", b.Len(), tc.wantLen)
			}
			calls, failed := b.CountCalls(fake.OpCreate)
			if calls != 1 || (failed == 1) != (err != nil) {
				t.Fatalf("recorded %d calls, %d failed", calls, failed)
			}
		})
	}
}

func TestErrorRateIsApproximatelyHonoured(t *testing.T) {
	b := fake.New(fake.Options{Seed: 42})
	b.SetErrorRate(fake.OpList, fake.Rate{Fraction: 0.2})
	failed := 0
	const n = 5000
	for range n {
		if _, err := b.List(context.Background()); err != nil {
			if !providers.IsTransient(err) {
				t.Fatalf("injected error %v is not Transient", err)
			}
			failed++
		}
	}
	if f := float64(failed) / n; f < 0.17 || f > 0.23 {
		t.Fatalf("failure fraction %.3f, want about 0.2", f)
	}
}

func TestLatencyFollowsClockAndContext(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
	b := fake.New(fake.Options{Clock: clk})
	b.SetLatency(fake.OpCreate, time.Second)
	done := make(chan error, 1)
	go func() { done <- b.Create(context.Background(), spec("u", "img", "")) }()
	for !clk.HasWaiters() {
		time.Sleep(time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("Create returned before its latency elapsed")
	default:
	}
	clk.Step(time.Second)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.Create(ctx, spec("v", "img", "")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Create with a cancelled context = %v", err)
	}
}

func TestCrashRestartsPerPolicy(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
	b := fake.New(fake.Options{Clock: clk})
	_ = b.Create(context.Background(), spec("always", "img", providers.RestartAlways))
	_ = b.Create(context.Background(), spec("never", "img", providers.RestartNever))
	clk.Step(time.Millisecond)
	b.Crash("always", 137)
	b.Crash("never", 137)
	if st := statusOf(t, b, "always"); st.Phase != providers.PhaseRunning || st.Containers[0].RestartCount != 1 {
		t.Fatalf("always: %+v", st)
	}
	if st := statusOf(t, b, "never"); st.Phase != providers.PhaseFailed || st.Containers[0].ExitCode != 137 {
		t.Fatalf("never: %+v", st)
	}
}
