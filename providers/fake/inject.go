package fake

import (
	"context"
	"fmt"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// Op names a Backend method.
type Op string

// The fake's operations.
const (
	OpCreate   Op = "Create"
	OpDelete   Op = "Delete"
	OpList     Op = "List"
	OpCapacity Op = "Capacity"
	OpLogs     Op = "Logs"
)

// Call is one recorded call.
type Call struct {
	Op   Op
	Ref  providers.InstanceRef // zero for List and Capacity
	At   time.Time             // the fake clock's time when the call began
	Err  error                 // the injected error returned, if any
	Done time.Time             // the fake clock's time after the injected latency
}

// Rate injects errors into a fraction of the calls of one Op.
type Rate struct {
	// Fraction of calls that fail, in [0, 1].
	Fraction float64
	// Kind is the kind of the injected error; default Transient.
	Kind providers.Kind
	// AfterEffect, for Create and Delete, applies the call's effect before returning
	// the error, as a cloud API that times out after doing the work would.
	AfterEffect bool
}

type injection struct{ afterEffect bool }

// FailNext makes the next call of op return err (queued: several calls queue
// several errors).
func (b *Backend) FailNext(op Op, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next[op] = append(b.next[op], err)
}

// SetErrorRate injects errors into a fraction of op's calls; a zero Rate stops it.
func (b *Backend) SetErrorRate(op Op, r Rate) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.Fraction <= 0 {
		delete(b.rates, op)
		return
	}
	if r.Kind == "" {
		r.Kind = providers.KindTransient
	}
	b.rates[op] = r
}

// SetLatency makes every call of op wait d on the fake's clock before it acts.
func (b *Backend) SetLatency(op Op, d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.latency[op] = d
}

// Calls returns a copy of the calls recorded so far.
func (b *Backend) Calls() []Call {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Call(nil), b.calls...)
}

// CountCalls returns how many calls of op were recorded, and how many of them
// returned an injected error.
func (b *Backend) CountCalls(op Op) (calls, failed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.calls {
		if c.Op == op {
			calls++
			if c.Err != nil {
				failed++
			}
		}
	}
	return calls, failed
}

// begin records a call, waits for its latency and decides its injected error.
func (b *Backend) begin(ctx context.Context, op Op, ref providers.InstanceRef) (injection, error) {
	start := b.clock.Now()
	b.mu.Lock()
	lat := b.latency[op]
	b.mu.Unlock()
	if lat > 0 {
		t := b.clock.NewTimer(lat)
		select {
		case <-t.C():
		case <-ctx.Done():
			t.Stop()
			b.record(Call{Op: op, Ref: ref, At: start, Err: ctx.Err(), Done: b.clock.Now()})
			return injection{}, ctx.Err()
		}
	}
	if err := ctx.Err(); err != nil {
		b.record(Call{Op: op, Ref: ref, At: start, Err: err, Done: b.clock.Now()})
		return injection{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var inj injection
	var err error
	if q := b.next[op]; len(q) > 0 {
		err = q[0]
		b.next[op] = q[1:]
	} else if r, ok := b.rates[op]; ok && b.rnd.Float64() < r.Fraction {
		err = providers.NewError(r.Kind, fmt.Errorf("fake: injected %s failure", op))
		inj.afterEffect = r.AfterEffect
	}
	b.calls = append(b.calls, Call{Op: op, Ref: ref, At: start, Err: err, Done: b.clock.Now()})
	return inj, err
}

func (b *Backend) record(c Call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, c)
}
