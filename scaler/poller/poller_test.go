package poller

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

type recorder struct {
	mu    sync.Mutex
	calls map[string][]time.Time
	clk   *clocktesting.FakeClock
	block map[string]chan struct{}
	busy  map[string]bool
	twice bool
}

func (r *recorder) poll(ctx context.Context, k types.NamespacedName) {
	r.mu.Lock()
	if r.busy[k.Name] {
		r.twice = true
	}
	r.busy[k.Name] = true
	r.calls[k.Name] = append(r.calls[k.Name], r.clk.Now())
	gate := r.block[k.Name]
	r.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	r.mu.Lock()
	r.busy[k.Name] = false
	r.mu.Unlock()
}

func (r *recorder) count(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls[name])
}

func key(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }

func start(t *testing.T) (*Poller, *recorder, *clocktesting.FakeClock) {
	t.Helper()
	clk := clocktesting.NewFakeClock(t0)
	r := &recorder{calls: map[string][]time.Time{}, clk: clk, block: map[string]chan struct{}{}, busy: map[string]bool{}}
	p := New(r.poll, Options{Clock: clk, Workers: 4, Log: logr.Discard()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = p.Start(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return p, r, clk
}

// settle waits until every due poll ran and the scheduler sleeps on the fake clock.
func settle(t *testing.T, p *Poller) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !p.settled() {
		if time.Now().After(deadline) {
			t.Fatal("poller did not settle")
		}
		time.Sleep(time.Millisecond)
	}
}

func step(t *testing.T, p *Poller, clk *clocktesting.FakeClock, d time.Duration) {
	t.Helper()
	settle(t, p)
	clk.Step(d)
	time.Sleep(2 * time.Millisecond)
	settle(t, p)
}

func TestSchedule(t *testing.T) {
	p, r, clk := start(t)
	p.Add(key("fast"), time.Second)
	p.Add(key("slow"), 3*time.Second)
	settle(t, p)
	if r.count("fast") != 1 || r.count("slow") != 1 {
		t.Fatalf("new keys are polled at once: fast %d slow %d", r.count("fast"), r.count("slow"))
	}
	for i := 0; i < 6; i++ {
		step(t, p, clk, time.Second)
	}
	if r.count("fast") != 7 || r.count("slow") != 3 {
		t.Fatalf("after 6 s: fast %d (want 7) slow %d (want 3)", r.count("fast"), r.count("slow"))
	}
	// Polls happen on schedule, at whole seconds.
	for i, at := range r.calls["fast"] {
		if !at.Equal(t0.Add(time.Duration(i) * time.Second)) {
			t.Fatalf("poll %d at %v", i, at)
		}
	}
	p.Remove(key("fast"))
	step(t, p, clk, 3*time.Second)
	if r.count("fast") != 7 || r.count("slow") != 4 || p.Len() != 1 {
		t.Fatalf("after remove: fast %d slow %d len %d", r.count("fast"), r.count("slow"), p.Len())
	}
}

func TestSmallStepsDoNotPollEarly(t *testing.T) {
	p, r, clk := start(t)
	p.Add(key("a"), time.Second)
	settle(t, p)
	step(t, p, clk, 999*time.Millisecond)
	if r.count("a") != 1 {
		t.Fatalf("polled before its interval: %d", r.count("a"))
	}
	step(t, p, clk, time.Millisecond)
	if r.count("a") != 2 {
		t.Fatalf("not polled at its interval: %d", r.count("a"))
	}
}

func TestOverrunNeverOverlaps(t *testing.T) {
	p, r, clk := start(t)
	gate := make(chan struct{})
	r.mu.Lock()
	r.block["a"] = gate
	r.mu.Unlock()
	p.Add(key("a"), time.Second)
	for r.count("a") == 0 {
		time.Sleep(time.Millisecond)
	}
	// The poll is stuck for 5 intervals; nothing else for "a" may start.
	for i := 0; i < 5; i++ {
		clk.Step(time.Second)
		time.Sleep(2 * time.Millisecond)
	}
	if r.count("a") != 1 {
		t.Fatalf("%d polls started while one was running", r.count("a"))
	}
	r.mu.Lock()
	delete(r.block, "a")
	r.mu.Unlock()
	close(gate)
	settle(t, p)
	// Missed polls are not replayed: one poll right after the overrun, then on rate.
	if r.count("a") != 2 {
		t.Fatalf("after the overrun: %d polls, want 2", r.count("a"))
	}
	step(t, p, clk, time.Second)
	if r.count("a") != 3 || r.twice {
		t.Fatalf("polls %d, overlapped %v", r.count("a"), r.twice)
	}
}

func TestPollNowAndIntervalChange(t *testing.T) {
	p, r, clk := start(t)
	p.Add(key("a"), 30*time.Second)
	settle(t, p)
	p.PollNow(key("a"))
	settle(t, p)
	if r.count("a") != 2 {
		t.Fatalf("PollNow: %d polls", r.count("a"))
	}
	// Shortening the interval pulls the next poll in.
	p.Add(key("a"), time.Second)
	step(t, p, clk, time.Second)
	if r.count("a") != 3 {
		t.Fatalf("after shortening: %d polls", r.count("a"))
	}
	p.PollNow(key("missing")) // unknown keys are ignored
	p.Remove(key("missing"))
}

func TestManyKeysRealClock(t *testing.T) {
	var mu sync.Mutex
	counts := map[types.NamespacedName]int{}
	var maxDelay time.Duration
	p := New(func(_ context.Context, k types.NamespacedName) {
		mu.Lock()
		counts[k]++
		mu.Unlock()
	}, Options{Workers: 8, OnPoll: func(_ types.NamespacedName, d time.Duration) {
		mu.Lock()
		maxDelay = max(maxDelay, d)
		mu.Unlock()
	}})
	const n = 2000
	for i := range n {
		p.Add(types.NamespacedName{Namespace: "ns", Name: string(rune('a'+i%26)) + time.Duration(i).String()}, 100*time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 550*time.Millisecond)
	defer cancel()
	_ = p.Start(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(counts) != n {
		t.Fatalf("%d of %d keys polled", len(counts), n)
	}
	for k, c := range counts {
		if c < 2 {
			t.Fatalf("%v polled %d times in 550 ms at 100 ms", k, c)
		}
	}
	t.Logf("max poll delay with %d keys: %v", n, maxDelay)
}
