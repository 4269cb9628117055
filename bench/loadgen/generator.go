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
	clk := g.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	timeout := g.ConfirmTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	res := &Result{Start: clk.Now(), Sent: make([]Sent, len(sched)), StepStarts: make([]time.Time, len(plan))}
	var stepAt time.Duration
	for i, s := range plan {
		res.StepStarts[i] = res.Start.Add(stepAt)
		stepAt += s.Length()
	}

	type pending struct {
		i int
		c Confirm
	}
	queue := make(chan pending, 1024)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // confirms arrive in publish order; wait for them in that order
		defer wg.Done()
		for p := range queue {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			err := p.c(cctx)
			cancel()
			if err != nil {
				res.Sent[p.i].Err = err
				continue
			}
			res.Sent[p.i].Confirmed = clk.Now()
		}
	}()

	step := -1
	var runErr error
	for i, p := range sched {
		for step < p.Step {
			step++
			if g.OnStep != nil {
				g.OnStep(step, res.StepStarts[step])
			}
		}
		if wait := res.Start.Add(p.At).Sub(clk.Now()); wait > 0 {
			select {
			case <-ctx.Done():
			case <-clk.After(wait):
			}
		}
		m := wire.Message{ID: fmt.Sprintf("%s-%06d", g.RunID, p.Seq), Run: g.RunID, Seq: p.Seq, WorkMillis: p.WorkMillis}
		res.Sent[i].Message, res.Sent[i].Step = m, p.Step
		if ctx.Err() != nil {
			res.Sent[i].Err = ctx.Err()
			runErr = ctx.Err()
			continue
		}
		m.SentUnixNano = clk.Now().UnixNano()
		res.Sent[i].Message = m
		c, err := pub.Publish(ctx, m)
		if err != nil {
			res.Sent[i].Err = err
			continue
		}
		queue <- pending{i: i, c: c}
	}
	for step < len(plan)-1 { // trailing idle steps
		step++
		if g.OnStep != nil {
			g.OnStep(step, res.StepStarts[step])
		}
		if wait := res.StepStarts[step].Add(plan[step].Length()).Sub(clk.Now()); wait > 0 && ctx.Err() == nil {
			select {
			case <-ctx.Done():
			case <-clk.After(wait):
			}
		}
	}
	close(queue)
	wg.Wait()
	res.End = clk.Now()
	if runErr != nil {
		return res, fmt.Errorf("load interrupted: %w", runErr)
	}
	return res, nil
}
