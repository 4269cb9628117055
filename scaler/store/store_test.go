package store

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// testSource is a trigger.Source for these tests: it reports value or err, can block until
// released, counts calls, and records whether it was ever measured concurrently or
// after Close.
type testSource struct {
	mu       sync.Mutex
	value    float64
	err      error
	gate     chan struct{} // when non-nil, Measure waits for it to close
	calls    atomic.Int32
	inFlight atomic.Int32
	overlap  atomic.Bool
	closed   atomic.Bool
	misuse   atomic.Bool // measured after Close, or closed during Measure
	panics   bool
}

func (s *testSource) Measure(ctx context.Context) (float64, error) {
	if s.closed.Load() {
		s.misuse.Store(true)
	}
	if s.inFlight.Add(1) > 1 {
		s.overlap.Store(true)
	}
	defer s.inFlight.Add(-1)
	s.calls.Add(1)
	s.mu.Lock()
	gate, v, err := s.gate, s.value, s.err
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	if s.panics {
		panic("boom")
	}
	return v, err
}

func (s *testSource) Close() error {
	if s.inFlight.Load() > 0 {
		s.misuse.Store(true)
	}
	s.closed.Store(true)
	return nil
}

func (s *testSource) set(v float64, err error) {
	s.mu.Lock()
	s.value, s.err = v, err
	s.mu.Unlock()
}

var (
	owner = Owner{Namespace: "ns", Name: "so"}
	keyA  = trigger.Key{Namespace: "ns", Name: "a"}
	keyB  = trigger.Key{Namespace: "ns", Name: "b"}
	t0    = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
)

func metric(key trigger.Key, hash string, src trigger.Source) Registration {
	return Registration{Metric: trigger.Metric{Key: key, SpecHash: hash, Rule: trigger.Rule{Target: 10},
		Ident: key.Name, Type: "test", Labels: map[string]string{"l": "v"}, PollingInterval: time.Second}, Source: src}
}

func newStore(t *testing.T) (*Store, *clocktesting.FakeClock, *prometheus.Registry) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	reg := prometheus.NewRegistry()
	s := New(Options{Clock: clk, Metrics: NewMetrics(reg), Log: logr.Discard(), MeasureTimeout: 5 * time.Second})
	t.Cleanup(func() { _ = s.Close() })
	return s, clk, reg
}

func TestMeasureRecordsSamples(t *testing.T) {
	s, clk, reg := newStore(t)
	sc := &testSource{value: 7}
	if err := s.Set(owner, []Registration{metric(keyA, "h1", sc)}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	smp, err := s.Measure(ctx, keyA)
	if err != nil || smp.Value != 7 || !smp.Time.Equal(t0) || smp.Err != nil || smp.Labels["l"] != "v" || smp.PollingInterval != time.Second {
		t.Fatalf("sample %+v, err %v", smp, err)
	}
	clk.Step(time.Second)
	boom := errors.New("broker down")
	sc.set(0, boom)
	// A failed read-through sets Err but does not count; failed polls count.
	smp, _ = s.Refresh(ctx, keyA)
	if !errors.Is(smp.Err, boom) || smp.ConsecutiveFailures != 0 {
		t.Fatalf("failed refresh: %+v", smp)
	}
	for i := 1; i <= 3; i++ {
		samples, err := s.MeasureOwner(ctx, owner)
		smp = samples[0]
		if err != nil || !errors.Is(smp.Err, boom) || smp.ConsecutiveFailures != i || smp.Value != 7 || !smp.Time.Equal(t0) {
			t.Fatalf("failure %d: %+v %v", i, smp, err)
		}
		if latest, _ := s.Latest(ctx, keyA); latest.ConsecutiveFailures != i {
			t.Fatalf("Latest after failed poll %d: %+v", i, latest)
		}
	}
	sc.set(9, nil)
	smp, _ = s.Measure(ctx, keyA)
	if smp.Err != nil || smp.ConsecutiveFailures != 0 || smp.Value != 9 || !smp.Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("recovery: %+v", smp)
	}
	latest, err := s.Latest(ctx, keyA)
	if err != nil || latest.Value != 9 {
		t.Fatalf("latest %+v %v", latest, err)
	}
	if got := testutil.ToFloat64(s.opts.Metrics.errors.WithLabelValues("ns", "so", "a", "a")); got != 4 {
		t.Fatalf("surge_scaler_errors_total = %v, want 4 (every failed measurement)", got)
	}
	if got := testutil.ToFloat64(s.opts.Metrics.value.WithLabelValues("ns", "so", "a", "a")); got != 9 {
		t.Fatalf("surge_scaler_metrics_value = %v, want 9", got)
	}
	s.Remove(owner)
	if n, _ := testutil.GatherAndCount(reg, "surge_scaler_metrics_value", "surge_scaler_errors_total"); n != 0 {
		t.Fatalf("series left after Remove: %d", n)
	}
}

func TestSingleFlight(t *testing.T) {
	s, _, _ := newStore(t)
	gate := make(chan struct{})
	sc := &testSource{value: 3, gate: gate}
	if err := s.Set(owner, []Registration{metric(keyA, "h", sc)}); err != nil {
		t.Fatal(err)
	}
	const callers = 50
	var wg sync.WaitGroup
	results := make([]trigger.Reading, callers)
	for i := range callers {
		wg.Go(func() {
			var err error
			results[i], err = s.Refresh(context.Background(), keyA)
			if err != nil {
				t.Error(err)
			}
		})
	}
	// Wait until the one measurement runs, then release it.
	for sc.inFlight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the other callers join the flight
	close(gate)
	wg.Wait()
	if c := sc.calls.Load(); c < 1 || c > 2 {
		t.Fatalf("%d Measure calls for %d concurrent callers, want 1 (2 if one arrived late)", c, callers)
	}
	for _, r := range results {
		if r.Value != 3 {
			t.Fatalf("a caller got %+v", r)
		}
	}
	if sc.overlap.Load() {
		t.Fatal("Scaler measured concurrently")
	}
}

func TestNoConcurrentMeasureUnderLoad(t *testing.T) {
	s, _, _ := newStore(t)
	sc := &testSource{value: 1}
	if err := s.Set(owner, []Registration{metric(keyA, "h", sc)}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, err := s.Measure(context.Background(), keyA); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if sc.overlap.Load() {
		t.Fatal("Scaler measured concurrently")
	}
}

func TestWaiterCancellation(t *testing.T) {
	s, _, _ := newStore(t)
	gate := make(chan struct{})
	sc := &testSource{value: 5, gate: gate}
	_ = s.Set(owner, []Registration{metric(keyA, "h", sc)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := s.Measure(ctx, keyA); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the waiter's deadline", err)
	}
	// The measurement itself was not cancelled with the first caller: it completes.
	close(gate)
	smp, err := s.Measure(context.Background(), keyA)
	if err != nil || smp.Value != 5 || smp.Err != nil {
		t.Fatalf("%+v %v", smp, err)
	}
}

func TestSetKeepsReplacesAndRemoves(t *testing.T) {
	s, _, _ := newStore(t)
	a1, b1 := &testSource{value: 1}, &testSource{value: 2}
	if err := s.Set(owner, []Registration{metric(keyA, "a1", a1), metric(keyB, "b1", b1)}); err != nil {
		t.Fatal(err)
	}
	_, _ = s.Measure(context.Background(), keyA)
	if !s.Has(keyA, "a1") || s.Has(keyA, "other") {
		t.Fatal("Has")
	}
	// Same hash for A (nil trigger: keep), new hash for B (replace); fallback changes.
	mA := metric(keyA, "a1", nil)
	mA.Source = nil
	mA.Fallback = &trigger.Fallback{FailureThreshold: 2, Replicas: 4}
	b2 := &testSource{value: 20}
	if err := s.Set(owner, []Registration{mA, metric(keyB, "b2", b2)}); err != nil {
		t.Fatal(err)
	}
	if a1.closed.Load() || !b1.closed.Load() {
		t.Fatalf("a1 closed %v (want false), b1 closed %v (want true)", a1.closed.Load(), b1.closed.Load())
	}
	latest, _ := s.Latest(context.Background(), keyA)
	if latest.Value != 1 || latest.Fallback == nil || latest.Fallback.Replicas != 4 {
		t.Fatalf("kept entry lost its sample or missed the new fallback: %+v", latest)
	}
	s.SetFallbackReplicas(owner, 6)
	latest, _ = s.Latest(context.Background(), keyA)
	if latest.Fallback.Replicas != 6 || mA.Fallback.Replicas != 4 {
		t.Fatalf("SetFallbackReplicas: sample %d, caller's struct %d", latest.Fallback.Replicas, mA.Fallback.Replicas)
	}
	samples, err := s.MeasureOwner(context.Background(), owner)
	if err != nil || len(samples) != 2 || samples[0].Value != 1 || samples[1].Value != 20 || samples[1].Key != keyB {
		t.Fatalf("MeasureOwner: %+v %v", samples, err)
	}
	// Dropping A from the set removes and closes it.
	keepB := metric(keyB, "b2", nil)
	keepB.Source = nil
	if err := s.Set(owner, []Registration{keepB}); err != nil {
		t.Fatal(err)
	}
	if b2.closed.Load() {
		t.Fatal("kept metric closed")
	}
	if !a1.closed.Load() {
		t.Fatal("dropped metric not closed")
	}
	if _, err := s.Latest(context.Background(), keyA); !errors.Is(err, trigger.ErrUnknownMetric) {
		t.Fatalf("err = %v, want ErrUnknownMetric", err)
	}
	if len(s.Keys()) != 1 {
		t.Fatalf("keys %v", s.Keys())
	}
}

func TestSetRejects(t *testing.T) {
	s, _, _ := newStore(t)
	_ = s.Set(owner, []Registration{metric(keyA, "h", &testSource{})})
	other := Owner{Namespace: "ns", Name: "other"}
	stolen := &testSource{}
	if err := s.Set(other, []Registration{metric(keyA, "h", stolen)}); err == nil {
		t.Fatal("another owner took a registered key")
	}
	if !stolen.closed.Load() {
		t.Fatal("rejected trigger's Scaler leaked")
	}
	keep := metric(keyB, "h", nil)
	keep.Source = nil
	if err := s.Set(owner, []Registration{keep}); err == nil {
		t.Fatal("a nil trigger without a registered hash was accepted")
	}
}

func TestRetireWaitsForRunningMeasure(t *testing.T) {
	s, _, _ := newStore(t)
	gate := make(chan struct{})
	sc := &testSource{value: 1, gate: gate}
	_ = s.Set(owner, []Registration{metric(keyA, "h", sc)})
	done := make(chan struct{})
	go func() { _, _ = s.Measure(context.Background(), keyA); close(done) }()
	for sc.inFlight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	s.Remove(owner)
	if sc.closed.Load() {
		t.Fatal("closed while measuring")
	}
	close(gate)
	<-done
	deadline := time.Now().Add(time.Second)
	for !sc.closed.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !sc.closed.Load() || sc.misuse.Load() {
		t.Fatalf("closed %v misuse %v", sc.closed.Load(), sc.misuse.Load())
	}
}

func TestPanicIsAFailedMeasurement(t *testing.T) {
	s, _, _ := newStore(t)
	_ = s.Set(owner, []Registration{metric(keyA, "h", &testSource{panics: true})})
	samples, err := s.MeasureOwner(context.Background(), owner)
	if err != nil || samples[0].Err == nil || samples[0].ConsecutiveFailures != 1 {
		t.Fatalf("%+v %v", samples, err)
	}
}

func TestClose(t *testing.T) {
	s, _, _ := newStore(t)
	sc := &testSource{}
	_ = s.Set(owner, []Registration{metric(keyA, "h", sc)})
	_ = s.Close()
	if !sc.closed.Load() {
		t.Fatal("Close did not close the Scaler")
	}
	if _, err := s.Measure(context.Background(), keyA); !errors.Is(err, ErrClosed) {
		t.Fatalf("err = %v", err)
	}
	late := &testSource{}
	if err := s.Set(owner, []Registration{metric(keyA, "h", late)}); !errors.Is(err, ErrClosed) || !late.closed.Load() {
		t.Fatalf("Set after Close: %v, closed %v", err, late.closed.Load())
	}
}
