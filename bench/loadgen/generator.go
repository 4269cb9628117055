package loadgen

import (
	"context"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// Publisher sends one message. Publish must not wait for the broker's confirm; it
// returns a Confirm that does. Implementations are used from one goroutine for
// Publish and another for the Confirms, in publish order.
type Publisher interface {
	Publish(ctx context.Context, m wire.Message) (Confirm, error)
}

// Confirm waits for the broker's confirm of one message; an error means the broker
// did not take it (nacked, connection lost, timeout).
type Confirm func(ctx context.Context) error

// Sent is the fate of one planned message.
type Sent struct {
	Message wire.Message
	Step    int
	// Confirmed is when the broker's confirm arrived; zero if it never did.
	Confirmed time.Time
	// Err is why the message was not confirmed.
	Err error
}

// Result is what a Generator did.
type Result struct {
	Start time.Time // the plan's time zero
	End   time.Time // the last confirm arrived
	Sent  []Sent
	// StepStarts[i] is when step i began, for phase markers.
	StepStarts []time.Time
}

// Confirmed returns the messages the broker confirmed.
func (r *Result) Confirmed() []wire.Message {
	out := make([]wire.Message, 0, len(r.Sent))
	for _, s := range r.Sent {
		if s.Err == nil && !s.Confirmed.IsZero() {
			out = append(out, s.Message)
		}
	}
	return out
}

// Failed counts messages that were not confirmed.
func (r *Result) Failed() int {
	return len(r.Sent) - len(r.Confirmed())
}

// Generator publishes a plan.
type Generator struct {
	// RunID names the run; message ids are "<RunID>-<seq>".
	RunID string
	// Clock paces the plan; nil means the real clock.
	Clock clock.WithTicker
	// ConfirmTimeout bounds the wait for each confirm (default 30 s).
	ConfirmTimeout time.Duration
	// OnStep, if set, is called as each step begins (from the publishing goroutine).
	OnStep func(step int, at time.Time)
}

// Run publishes every message of plan at its time and waits for all confirms. It
// returns an error only if the plan is invalid or ctx ended; per-message failures are
// in the Result.
func (g *Generator) Run(ctx context.Context, pub Publisher, plan []Step) (*Result, error) {
	sched, err := Schedule(plan)
	if err != nil {
		return nil, err
	}
	r := &run{g: g, clk: g.Clock, plan: plan, step: -1}
	if r.clk == nil {
		r.clk = clock.RealClock{}
	}
	r.res = newResult(r.clk.Now(), plan, len(sched))
	queue := make(chan pending, 1024)
	var wg sync.WaitGroup
	wg.Go(func() { r.awaitConfirms(ctx, queue, g.confirmTimeout()) })
	runErr := r.publish(ctx, pub, sched, queue)
	r.idleTail(ctx)
	close(queue)
	wg.Wait()
	r.res.End = r.clk.Now()
	if runErr != nil {
		return r.res, fmt.Errorf("load interrupted: %w", runErr)
	}
	return r.res, nil
}

// confirmTimeout returns ConfirmTimeout, or its default.
func (g *Generator) confirmTimeout() time.Duration {
	if g.ConfirmTimeout <= 0 {
		return 30 * time.Second
	}
	return g.ConfirmTimeout
}

// newResult returns the Result of a plan of n messages starting at start, with the
// start time of each step filled in.
func newResult(start time.Time, plan []Step, n int) *Result {
	res := &Result{Start: start, Sent: make([]Sent, n), StepStarts: make([]time.Time, len(plan))}
	var stepAt time.Duration
	for i, s := range plan {
		res.StepStarts[i] = res.Start.Add(stepAt)
		stepAt += s.Length()
	}
	return res
}

// pending is a published message whose confirm is awaited: Sent[i]'s.
type pending struct {
	i int
	c Confirm
}

// run is one Run of a Generator: the clock, the plan, the result being filled in and
// the last step begun.
type run struct {
	g    *Generator
	clk  clock.WithTicker
	plan []Step
	res  *Result
	step int
}

// awaitConfirms waits for each confirm in queue, in publish order (the order they
// arrive in), each for at most timeout even after ctx ends, and records its outcome.
func (r *run) awaitConfirms(ctx context.Context, queue <-chan pending, timeout time.Duration) {
	for p := range queue {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		err := p.c(cctx)
		cancel()
		if err != nil {
			r.res.Sent[p.i].Err = err
			continue
		}
		r.res.Sent[p.i].Confirmed = r.clk.Now()
	}
}

// publish publishes each message of sched at its time and queues its confirm. Once ctx
// ends, the remaining messages are recorded as not sent and ctx's error is returned.
func (r *run) publish(ctx context.Context, pub Publisher, sched []Planned, queue chan<- pending) error {
	var runErr error
	for i, p := range sched {
		r.beginSteps(p.Step)
		r.sleepUntil(ctx, r.res.Start.Add(p.At))
		m := wire.Message{ID: fmt.Sprintf("%s-%06d", r.g.RunID, p.Seq), Run: r.g.RunID, Seq: p.Seq, WorkMillis: p.WorkMillis}
		r.res.Sent[i].Message, r.res.Sent[i].Step = m, p.Step
		if ctx.Err() != nil {
			r.res.Sent[i].Err = ctx.Err()
			runErr = ctx.Err()
			continue
		}
		m.SentUnixNano = r.clk.Now().UnixNano()
		r.res.Sent[i].Message = m
		c, err := pub.Publish(ctx, m)
		if err != nil {
			r.res.Sent[i].Err = err
			continue
		}
		queue <- pending{i: i, c: c}
	}
	return runErr
}

// idleTail begins the steps after the last message (idle ones) and waits out each,
// unless ctx has ended.
func (r *run) idleTail(ctx context.Context) {
	for r.step < len(r.plan)-1 {
		r.beginSteps(r.step + 1)
		if ctx.Err() == nil {
			r.sleepUntil(ctx, r.res.StepStarts[r.step].Add(r.plan[r.step].Length()))
		}
	}
}

// beginSteps begins every step up to and including step, calling OnStep for each.
func (r *run) beginSteps(step int) {
	for r.step < step {
		r.step++
		if r.g.OnStep != nil {
			r.g.OnStep(r.step, r.res.StepStarts[r.step])
		}
	}
}

// sleepUntil waits until at on the run's clock, or until ctx ends.
func (r *run) sleepUntil(ctx context.Context, at time.Time) {
	if wait := at.Sub(r.clk.Now()); wait > 0 {
		select {
		case <-ctx.Done():
		case <-r.clk.After(wait):
		}
	}
}
