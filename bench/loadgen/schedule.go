// Package loadgen publishes the bench's load: bursts, steady rates and ramps, each
// message with a unique id and its send time, every one confirmed by the broker. What
// was confirmed is the ground truth for "messages lost = 0".
package loadgen

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Step is one part of a load plan. Exactly one of Burst, Rate or Idle is set.
type Step struct {
	// Burst publishes this many messages at once.
	Burst int `json:"burst,omitempty"`
	// Rate publishes at this many messages per second for Duration; with RateTo set,
	// the rate rises (or falls) linearly from Rate to RateTo over Duration (a ramp).
	Rate   float64 `json:"rate,omitempty"`
	RateTo float64 `json:"rateTo,omitempty"`
	// Duration is how long a Rate step lasts.
	Duration time.Duration `json:"duration,omitempty"`
	// Idle publishes nothing for this long.
	Idle time.Duration `json:"idle,omitempty"`
	// WorkMillis, when > 0, is written into each message of the step as the work
	// time the worker spends on it.
	WorkMillis int64 `json:"workMillis,omitempty"`
	// Label names the step on the timeline ("burst", "ramp", ...); optional.
	Label string `json:"label,omitempty"`
}

// maxMessages bounds a plan, so a typo cannot queue millions of messages.
const maxMessages = 1_000_000

// Validate checks that s is well-formed.
func (s Step) Validate() error {
	set := 0
	if s.Burst != 0 {
		set++
	}
	if s.Rate != 0 || s.RateTo != 0 {
		set++
	}
	if s.Idle != 0 {
		set++
	}
	switch {
	case set != 1:
		return errors.New("a step sets exactly one of burst, rate (with duration) or idle")
	case s.Burst < 0 || s.Burst > maxMessages:
		return fmt.Errorf("burst %d is outside 1..%d", s.Burst, maxMessages)
	case s.Idle < 0:
		return fmt.Errorf("idle %v is negative", s.Idle)
	case s.WorkMillis < 0:
		return fmt.Errorf("workMillis %d is negative", s.WorkMillis)
	}
	if s.Rate != 0 || s.RateTo != 0 {
		if s.Rate < 0 || s.RateTo < 0 || math.IsNaN(s.Rate) || math.IsNaN(s.RateTo) || math.IsInf(s.Rate, 0) || math.IsInf(s.RateTo, 0) {
			return fmt.Errorf("rate %v..%v must be finite and not negative", s.Rate, s.RateTo)
		}
		if s.Duration <= 0 {
			return fmt.Errorf("rate step needs a positive duration, got %v", s.Duration)
		}
		if n := s.count(); n > maxMessages {
			return fmt.Errorf("rate step publishes %.0f messages, more than %d", n, maxMessages)
		}
	}
	return nil
}

// count returns how many messages a rate step publishes (possibly fractional).
func (s Step) count() float64 {
	to := s.RateTo
	if to == 0 {
		to = s.Rate
	}
	return (s.Rate + to) / 2 * s.Duration.Seconds()
}

// Length returns how long the step takes.
func (s Step) Length() time.Duration {
	if s.Idle > 0 {
		return s.Idle
	}
	return s.Duration // 0 for a burst
}

// Planned is one message of a plan: when it is due, relative to the plan's start.
type Planned struct {
	Seq        int64
	At         time.Duration
	Step       int // index of the step in the plan
	WorkMillis int64
}

// Schedule lays out every message of plan in time order.
//
// A steady step at rate r publishes ⌊r·D⌋ messages, the k-th (from 0) at k/r. A ramp
// from r0 to r1 has the cumulative count N(t) = r0·t + (r1−r0)·t²/(2D); its k-th
// message is sent when N(t) = k, so the instantaneous rate follows the ramp exactly.
func Schedule(plan []Step) ([]Planned, error) {
	var out []Planned
	var at time.Duration
	var seq int64
	for i, s := range plan {
		if err := s.Validate(); err != nil {
			return nil, fmt.Errorf("step %d: %w", i, err)
		}
		switch {
		case s.Burst > 0:
			for range s.Burst {
				out = append(out, Planned{Seq: seq, At: at, Step: i, WorkMillis: s.WorkMillis})
				seq++
			}
		case s.Rate != 0 || s.RateTo != 0:
			n := int64(math.Floor(s.count() + 1e-9))
			for k := range n {
				off := rampTime(s.Rate, s.rateTo(), s.Duration.Seconds(), float64(k))
				out = append(out, Planned{Seq: seq, At: at + time.Duration(off*float64(time.Second)), Step: i, WorkMillis: s.WorkMillis})
				seq++
			}
		}
		if len(out) > maxMessages {
			return nil, fmt.Errorf("plan publishes more than %d messages", maxMessages)
		}
		at += s.Length()
	}
	return out, nil
}

func (s Step) rateTo() float64 {
	if s.RateTo == 0 {
		return s.Rate
	}
	return s.RateTo
}

// rampTime solves r0·t + (r1−r0)·t²/(2d) = k for t in [0, d].
func rampTime(r0, r1, d, k float64) float64 {
	if k == 0 {
		return 0
	}
	a := (r1 - r0) / (2 * d)
	if math.Abs(a) < 1e-12 {
		return k / r0
	}
	// a·t² + r0·t − k = 0; the root in [0, d] is the "+" one (stable form).
	disc := r0*r0 + 4*a*k
	if disc < 0 {
		disc = 0
	}
	return 2 * k / (r0 + math.Sqrt(disc))
}

// Total returns the plan's length in time.
func Total(plan []Step) time.Duration {
	var d time.Duration
	for _, s := range plan {
		d += s.Length()
	}
	return d
}
