// Package activation decides what surge-scaler does with a ScaledObject's target after
// each poll: scale 0→N, N→0 (or idleReplicaCount) after the cooldown, hold fallback
// replicas, or hold still while paused. [Decide] is a pure function of its input (the
// samples, the spec, the current replica count, the clock's now and the last active
// time): no Kubernetes calls, no clock reads, so every rule and boundary is
// table-tested.
//
// What "active", "fallback applies" and the burst count mean is written once, in the
// trigger model: [trigger.Rule.Active], [trigger.Fallback.Applies],
// [trigger.Fallback.Hold] and [trigger.Rule.BurstReplicas]; the metrics API
// ([github.com/surge-autoscaler/surge/metricsapi.Judge]) uses the same rules.
//
// Semantics follow KEDA 2.x's scale executor, with these documented choices:
//   - Fallback applies once a trigger has failed FailureThreshold consecutive times
//     (KEDA: one more than that).
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
	"time"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/trigger"
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
	Fallback *trigger.Fallback
	// BurstStart is spec.advanced.burstStart.
	BurstStart bool
	// Pause is what the pause annotations ask for.
	Pause v1alpha1.Pause
}

// Input is everything Decide reads.
type Input struct {
	// Now is the injected clock's time of this decision.
	Now time.Time
	// Spec is the ScaledObject's spec.
	Spec Spec
	// Triggers are the latest readings, one per trigger.
	Triggers []trigger.Reading
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
	d := Decision{LastActive: in.LastActive}
	if in.Spec.Pause.Paused {
		d.paused(in)
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
		d.FallbackReplicas = in.Spec.Fallback.Hold(in.CurrentReplicas)
	}
	if active {
		d.activate(in)
	} else {
		d.idle(in, failed)
	}
	return d
}

// paused holds still, or scales to the paused replica count when one is set.
func (d *Decision) paused(in Input) {
	d.Paused = true
	d.Active, d.ActiveReason = false, v1alpha1.ReasonPaused
	if r := in.Spec.Pause.Replicas; r != nil && *r != in.CurrentReplicas {
		d.scale(*r, ReasonPausedReplicas, "paused at %d replicas by annotation", *r)
	}
}

// activate records a trigger as active and scales a target at zero (or at its idle
// count) to the HPA's minimum, or with burstStart to the burst count.
func (d *Decision) activate(in Input) {
	s := in.Spec
	hpaMin := max(s.MinReplicas, 1)
	d.LastActive = in.Now
	d.Active, d.ActiveReason = true, v1alpha1.ReasonActive
	if in.CurrentReplicas == 0 || (s.IdleReplicas != nil && in.CurrentReplicas < hpaMin) {
		n := hpaMin
		if s.BurstStart {
			n = min(max(burstReplicas(in.Triggers), hpaMin), max(s.MaxReplicas, hpaMin))
		}
		d.scale(n, ReasonActivated, "a trigger is active: %d → %d replicas", in.CurrentReplicas, n)
	}
}

// idle decides with no trigger active: hold while triggers fail (or hold the
// fallback count), scale in after the cooldown, or raise to minReplicaCount.
func (d *Decision) idle(in Input, failed int) {
	s := in.Spec
	hpaMin := max(s.MinReplicas, 1)
	inCooldown := !cooldownOver(in)
	if inCooldown {
		d.Active, d.ActiveReason = true, v1alpha1.ReasonCooldown
	} else {
		d.Active, d.ActiveReason = false, v1alpha1.ReasonNotActive
	}
	errorsHold := failed > 0 && !(d.Fallback && d.FallbackReplicas == 0)
	switch {
	case errorsHold:
		// Errors never scale in. With fallback and every trigger failing, hold the
		// fallback count while the target runs (the HPA would too).
		if d.Fallback && failed == len(in.Triggers) && in.CurrentReplicas > 0 {
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
}

func (d *Decision) scale(n int32, reason, format string, args ...any) {
	d.Scale, d.Replicas, d.Reason, d.Message = true, n, reason, fmt.Sprintf(format, args...)
}

// summarise returns whether any trigger is active, how many failed, and whether
// fallback applies to any of them.
func summarise(in Input) (active bool, failed int, fallbackOn bool) {
	for _, t := range in.Triggers {
		if t.Err != nil {
			failed++
			fallbackOn = fallbackOn || in.Spec.Fallback.Applies(t.Sample)
			continue
		}
		active = active || t.Active()
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

// burstReplicas is the largest burst count over the triggers.
func burstReplicas(ts []trigger.Reading) int32 {
	best := int32(0)
	for _, t := range ts {
		best = max(best, t.Rule.BurstReplicas(t.Sample))
	}
	return best
}
