// Package fake is a fake trigger source for tests and benchmarks: a test sets the
// value each named fake reports, and may inject errors and latency. It is a fake,
// never built into a production registry (scaler/triggers offers the "fake" type
// only when its Options carry a Source).
package fake

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Type is the trigger type the fake answers to.
const Type = "fake"

// Source holds the state of every named fake. It is safe for concurrent use.
type Source struct {
	mu     sync.Mutex
	states map[string]*state
}

type state struct {
	value   float64
	err     error
	latency time.Duration
	calls   int
	open    int
}

// NewSource returns an empty Source: every name reports 0 until Set.
func NewSource() *Source {
	return &Source{states: map[string]*state{}}
}

func (s *Source) get(name string) *state {
	st, ok := s.states[name]
	if !ok {
		st = &state{}
		s.states[name] = st
	}
	return st
}

// Set makes name report v (and clears an error set by SetError).
func (s *Source) Set(name string, v float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.get(name)
	st.value, st.err = v, nil
}

// SetError makes Measure of name fail with err until Set or SetError(name, nil).
func (s *Source) SetError(name string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(name).err = err
}

// SetLatency makes Measure of name take d (or until its ctx ends, whichever is first).
func (s *Source) SetLatency(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(name).latency = d
}

// Calls returns how many times Measure was called for name.
func (s *Source) Calls(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(name).calls
}

// Open returns how many built triggers of name have not been closed.
func (s *Source) Open(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(name).open
}

// Config is the fake trigger's metadata.
type Config struct {
	// Name selects the Source entry this trigger reports.
	Name string `surge:"name,required"`
	// Target is the HPA target value.
	Target float64 `surge:"target,default=1,gt=0"`
	// ActivationTarget is the activation threshold.
	ActivationTarget float64 `surge:"activationTarget,default=0,min=0"`
}

// Build decodes spec and returns a fake trigger bound to s. It implements
// trigger.Builder's Build.
func (s *Source) Build(_ context.Context, spec trigger.Spec) (*trigger.Built, error) {
	var c Config
	warnings, err := decode.Decode(spec, &c)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.get(c.Name).open++
	s.mu.Unlock()
	return &trigger.Built{
		Source:     &gauge{src: s, name: c.Name},
		Rule:       trigger.Rule{Target: c.Target, Activation: c.ActivationTarget},
		MetricHint: decode.Label(Type, c.Name),
		Warnings:   warnings,
	}, nil
}

// gauge is one fake trigger: it reports its name's value in the Source.
type gauge struct {
	src    *Source
	name   string
	closed bool
}

var _ trigger.Source = (*gauge)(nil)

// Measure returns the value set for the fake's name after its latency, or its error.
func (f *gauge) Measure(ctx context.Context) (float64, error) {
	f.src.mu.Lock()
	st := f.src.get(f.name)
	st.calls++
	v, err, lat := st.value, st.err, st.latency
	f.src.mu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return 0, fmt.Errorf("fake %q: %w", f.name, ctx.Err())
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("fake %q: %w", f.name, err)
	}
	if err != nil {
		return 0, fmt.Errorf("fake %q: %w", f.name, err)
	}
	return v, nil
}

// Close releases the fake; closing twice is harmless.
func (f *gauge) Close() error {
	f.src.mu.Lock()
	defer f.src.mu.Unlock()
	if !f.closed {
		f.closed = true
		f.src.get(f.name).open--
	}
	return nil
}
