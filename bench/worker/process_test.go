package worker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// fakeSink records what it was sent; it is a fake, safe for concurrent use.
type fakeSink struct {
	mu   sync.Mutex
	recs []wire.Record
	err  error
}

func (s *fakeSink) Send(_ context.Context, rec wire.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.recs = append(s.recs, rec)
	return nil
}

func (s *fakeSink) records() []wire.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]wire.Record(nil), s.recs...)
}

func body(id string, workMS int64) []byte {
	return wire.Encode(wire.Message{ID: id, Run: "r", WorkMillis: workMS})
}

// waitTimers blocks until the fake clock has n waiters, so Step cannot race the
// processor's timer creation.
func waitTimers(t *testing.T, c *clocktesting.FakeClock, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.Waiters() < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d timers", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestProcess(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		body        []byte
		workTime    time.Duration
		sinkErr     error
		abortAfter  time.Duration // close abort after this much fake time; 0 = never
		step        time.Duration
		want        Result
		wantRecord  bool
		wantOutcome wire.Outcome
		wantWork    time.Duration
	}{
		{name: "work done", body: body("a", 0), workTime: 500 * time.Millisecond, step: 500 * time.Millisecond,
			want: Ack, wantRecord: true, wantOutcome: wire.OutcomeDone, wantWork: 500 * time.Millisecond},
		{name: "message overrides work time", body: body("b", 40), workTime: time.Second, step: 40 * time.Millisecond,
			want: Ack, wantRecord: true, wantOutcome: wire.OutcomeDone, wantWork: 40 * time.Millisecond},
		{name: "grace over mid-work", body: body("c", 0), workTime: time.Second, abortAfter: 300 * time.Millisecond,
			want: Requeue, wantRecord: true, wantOutcome: wire.OutcomeRequeued, wantWork: 300 * time.Millisecond},
		{name: "record not written", body: body("d", 0), workTime: 10 * time.Millisecond, step: 10 * time.Millisecond,
			sinkErr: errors.New("broker gone"), want: Requeue},
		{name: "malformed body", body: []byte("not json"), workTime: time.Second, want: Drop},
		{name: "zero work time", body: body("e", 0), want: Ack, wantRecord: true, wantOutcome: wire.OutcomeDone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := clocktesting.NewFakeClock(start)
			sink := &fakeSink{err: tt.sinkErr}
			p := &processor{pod: "pod-1", workTime: tt.workTime, sink: sink, clock: clk, timers: clk,
				log: logr.Discard(), sendTimeout: time.Second}
			abort := make(chan struct{})
			got := make(chan Result, 1)
			go func() { got <- p.process(abort, Delivery{Body: tt.body, Redelivered: true}) }()
			if tt.step > 0 || tt.abortAfter > 0 {
				waitTimers(t, clk, 1)
			}
			if tt.step > 0 {
				clk.Step(tt.step)
			}
			if tt.abortAfter > 0 {
				clk.Step(tt.abortAfter)
				close(abort)
			}
			var res Result
			select {
			case res = <-got:
			case <-time.After(5 * time.Second):
				t.Fatal("process did not return")
			}
			if res != tt.want {
				t.Fatalf("result = %v, want %v", res, tt.want)
			}
			recs := sink.records()
			if !tt.wantRecord {
				if len(recs) != 0 {
					t.Fatalf("records = %+v, want none", recs)
				}
				return
			}
			if len(recs) != 1 {
				t.Fatalf("records = %+v, want one", recs)
			}
			r := recs[0]
			if r.Outcome != tt.wantOutcome || r.Pod != "pod-1" || !r.Redelivered || r.Run != "r" {
				t.Fatalf("record = %+v", r)
			}
			if r.Start != start.UnixNano() {
				t.Fatalf("start = %v, want %v", r.StartTime(), start)
			}
			if d := r.EndTime().Sub(r.StartTime()); d != tt.wantWork {
				t.Fatalf("work took %v, want %v", d, tt.wantWork)
			}
		})
	}
}

func TestGraceSignal(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Unix(0, 0))
	stop := make(chan struct{})
	abort, release := graceSignal(clk, stop, 2*time.Second)
	defer release()
	clk.Step(time.Hour) // before stop, time alone never aborts
	select {
	case <-abort:
		t.Fatal("aborted before stop")
	case <-time.After(20 * time.Millisecond):
	}
	close(stop)
	waitTimers(t, clk, 1)
	clk.Step(1999 * time.Millisecond)
	select {
	case <-abort:
		t.Fatal("aborted before the grace period ended")
	case <-time.After(20 * time.Millisecond):
	}
	clk.Step(time.Millisecond)
	select {
	case <-abort:
	case <-time.After(5 * time.Second):
		t.Fatal("not aborted after the grace period")
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Ack: "ack", Requeue: "requeue", Drop: "drop", Result(9): "Result(9)"} {
		if r.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(r), r.String(), want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	err := redactURL(errors.New("dial amqp://user:s3cret@host: refused"), "amqp://user:s3cret@host")
	if got := err.Error(); got != "dial amqp://user:xxxxx@host: refused" {
		t.Fatalf("got %q", got)
	}
	base := errors.New("refused")
	if got := redactURL(base, "amqp://user:pw@host"); got != base {
		t.Fatalf("unrelated error changed: %v", got)
	}
}
