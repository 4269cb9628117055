// Package activation decides what surge-scaler does with a ScaledObject's target after
// each poll: scale 0→N, N→0 (or idleReplicaCount) after the cooldown, hold fallback
// replicas, or hold still while paused. Decide is a pure function of its input (the
// samples, the spec, the current replica count, the clock's now and the last active
// time): no Kubernetes calls, no clock reads, so every rule and boundary is
// table-tested.
//
// Semantics follow KEDA 2.x's scale executor, with these documented choices:
//   - Fallback applies once a trigger has failed FailureThreshold consecutive times
//     (KEDA: one more than that); the metrics API uses the same rule.
//   - initialCooldownPeriod is a floor from creation for every scale-in, not only
//     when no active time was ever recorded.
//   - Errors never scale a target in (as in KEDA), unless fallback.replicas is 0.
//   - Fallback does not scale from zero: at zero replicas the HPA is off (as in KEDA).
//   - While every trigger fails past the threshold and the target runs, Decide asks
//     for the fallback count directly; the metrics API serves Replicas×Target so the
//     HPA agrees. When some trigger still measures, the HPA alone applies it.
package activation

import (
	"fmt"
	"math"
	"time"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

// Spec is the part of a ScaledObject's spec that activation reads.
type Spec struct {
	// MinReplicas and MaxReplicas are minReplicaCount and maxReplicaCount.
	MinReplicas int32
	MaxReplicas int32
	// IdleReplicas is idleReplicaCount (nil when unset).
	IdleReplicas *int32
	// Cooldown and InitialCooldown are cooldownPeriod and initialCooldownPeriod.
	Cooldown        time.Duration
	InitialCooldown time.Duration
	// Created is the ScaledObject's creation time.
	Created time.Time
	// Fallback is spec.fallback (nil when unset).
	Fallback *Fallback
	// BurstStart is spec.advanced.burstStart.
	BurstStart bool
	// Pause is what the pause annotations ask for.
	Pause v1alpha1.Pause
}

// Fallback is spec.fallback.
type Fallback struct {
	// FailureThreshold is the number of consecutive failed polls before fallback.
	FailureThreshold int32
	// Replicas is fallback.replicas.
	Replicas int32
	// Behavior is static (also when empty), currentReplicas,
	// currentReplicasIfHigher or currentReplicasIfLower.
	Behavior v1alpha1.FallbackBehavior
}

// Trigger is one trigger's latest sample and thresholds.
type Trigger struct {
	// Value is the latest successful measurement.
	Value float64
	// Failed is true when the latest measurement failed.
	Failed bool
	// ConsecutiveFailures counts failed measurements since the last success.
	ConsecutiveFailures int
	// Activation: the trigger is active when Value > Activation and not Failed.
	Activation float64
	// Target is the HPA metric's target.
	Target float64
	// AverageValue is true for an AverageValue metric (per-replica target).
	AverageValue bool
}

// Input is everything Decide reads.
type Input struct {
	// Now is the injected clock's time of this decision.
	Now time.Time
	// Spec is the ScaledObject's spec.
	Spec Spec
	// Triggers are the latest samples, one per trigger.
	Triggers []Trigger
	// CurrentReplicas is the target's spec.replicas.
	CurrentReplicas int32
	// LastActive is the last time a trigger was active; zero if never.
	LastActive time.Time
}

// Health summarises the triggers' errors.
type Health int

// Health values.
const (
	// Healthy: no trigger failed.
	Healthy Health = iota
	// PartialFailure: some triggers failed.
	PartialFailure
	// Failing: every trigger failed.
	Failing
)

// Decision is what to do and what to report.
type Decision struct {
	// Scale asks to set the target's replicas to Replicas.
	Scale    bool
	Replicas int32
	// Active and ActiveReason are the Active condition (reasons from v1alpha1).
	Active       bool
	ActiveReason string
	// LastActive is the new last active time.
	LastActive time.Time
	// Fallback is true while fallback applies; FallbackReplicas is the count it
	// holds (after Behavior), which the metrics API serves as Replicas×Target.
	Fallback         bool
	FallbackReplicas int32
	// Health summarises trigger errors.
	Health Health
	// Paused is true while the pause annotations hold scaling.
	Paused bool
	// Reason and Message explain a scale (for the event); empty when Scale is false.
	Reason  string
	Message string
}

// Reasons for a scale, used in events.
const (
	ReasonActivated      = "Activated"
	ReasonDeactivated    = "Deactivated"
	ReasonMinReplicas    = "BelowMinReplicas"
	ReasonFallback       = "Fallback"
	ReasonPausedReplicas = "PausedReplicas"
)

// Decide returns what to do with the target now.
func Decide(in Input) Decision {
	s := in.Spec
	d := Decision{LastActive: in.LastActive}
	if s.Pause.Paused {
		d.Paused = true
		d.Active, d.ActiveReason = false, v1alpha1.ReasonPaused
		if r := s.Pause.Replicas; r != nil && *r != in.CurrentReplicas {
			d.scale(*r, ReasonPausedReplicas, "paused at %d replicas by annotation", *r)
		}
		return d
	}

	active, failed, fallbackOn := summarise(in)
	switch {
	case failed == 0:
		d.Health = Healthy
	case failed == len(in.Triggers):
		d.Health = Failing
	default:
		d.Health = PartialFailure
	}
	if fallbackOn {
		d.Fallback = true
		d.FallbackReplicas = fallbackReplicas(s.Fallback, in.CurrentReplicas)
	}
	hpaMin := max(s.MinReplicas, 1)

	if active {
		d.LastActive = in.Now
		d.Active, d.ActiveReason = true, v1alpha1.ReasonActive
		if in.CurrentReplicas == 0 || (s.IdleReplicas != nil && in.CurrentReplicas < hpaMin) {
			n := hpaMin
			if s.BurstStart {
				n = min(max(burstReplicas(in.Triggers), hpaMin), max(s.MaxReplicas, hpaMin))
			}
			d.scale(n, ReasonActivated, "a trigger is active: %d → %d replicas", in.CurrentReplicas, n)
		}
		return d
	}

	inCooldown := !cooldownOver(in)
	if inCooldown {
		d.Active, d.ActiveReason = true, v1alpha1.ReasonCooldown
	} else {
		d.Active, d.ActiveReason = false, v1alpha1.ReasonNotActive
	}
	errorsHold := failed > 0 && !(fallbackOn && d.FallbackReplicas == 0)
	switch {
	case errorsHold:
		// Errors never scale in. With fallback and every trigger failing, hold the
		// fallback count while the target runs (the HPA would too).
		if fallbackOn && failed == len(in.Triggers) && in.CurrentReplicas > 0 {
			n := min(max(d.FallbackReplicas, hpaMin), max(s.MaxReplicas, hpaMin))
			d.FallbackReplicas = n
			if n != in.CurrentReplicas {
				d.scale(n, ReasonFallback, "%d triggers failing past fallback.failureThreshold: %d → %d replicas", failed, in.CurrentReplicas, n)
			}
		}
	case (s.IdleReplicas != nil && in.CurrentReplicas > *s.IdleReplicas) || (in.CurrentReplicas > 0 && s.MinReplicas == 0):
		if !inCooldown {
			n := int32(0)
			if s.IdleReplicas != nil {
				n = *s.IdleReplicas
			}
			d.scale(n, ReasonDeactivated, "no trigger active for the cooldown: %d → %d replicas", in.CurrentReplicas, n)
		}
	case s.IdleReplicas == nil && in.CurrentReplicas < s.MinReplicas:
		d.scale(s.MinReplicas, ReasonMinReplicas, "below minReplicaCount: %d → %d replicas", in.CurrentReplicas, s.MinReplicas)
	}
	return d
}

func (d *Decision) scale(n int32, reason, format string, args ...any) {
	d.Scale, d.Replicas, d.Reason, d.Message = true, n, reason, fmt.Sprintf(format, args...)
}

// summarise returns whether any trigger is active, how many failed, and whether
// fallback applies.
func summarise(in Input) (active bool, failed int, fallbackOn bool) {
	for _, t := range in.Triggers {
		if t.Failed {
			failed++
			if f := in.Spec.Fallback; f != nil && t.ConsecutiveFailures >= int(f.FailureThreshold) {
				fallbackOn = true
			}
			continue
		}
		if t.Value > t.Activation {
			active = true
		}
	}
	return active, failed, fallbackOn
}

// cooldownOver reports whether scale-in is allowed: past the initial cooldown from
// creation, and past the cooldown from the last active time (if any). Both bounds are
// strict, as in KEDA (Before(now)).
func cooldownOver(in Input) bool {
	if !in.Spec.Created.Add(in.Spec.InitialCooldown).Before(in.Now) {
		return false
	}
	return in.LastActive.IsZero() || in.LastActive.Add(in.Spec.Cooldown).Before(in.Now)
}

func fallbackReplicas(f *Fallback, current int32) int32 {
	switch f.Behavior {
	case v1alpha1.FallbackCurrentReplicas:
		return current
	case v1alpha1.FallbackCurrentReplicasIfHigher:
		return max(current, f.Replicas)
	case v1alpha1.FallbackCurrentReplicasIfLower:
		return min(current, f.Replicas)
	default:
		return f.Replicas
	}
}

// burstReplicas is the largest ceil(value/target) over active AverageValue triggers,
// bounded to int32.
func burstReplicas(ts []Trigger) int32 {
	best := 0.0
	for _, t := range ts {
		if t.Failed || !t.AverageValue || t.Target <= 0 || !(t.Value > t.Activation) {
			continue
		}
		best = math.Max(best, math.Ceil(t.Value/t.Target))
	}
	if best >= math.MaxInt32 || math.IsNaN(best) {
		return math.MaxInt32
	}
	return int32(best)
}
