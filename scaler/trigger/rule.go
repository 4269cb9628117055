package trigger

import (
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

// Rule is what a trigger's value is compared with: the HPA metric's target and the
// activation threshold.
type Rule struct {
	// Target is the HPA metric target (per replica for AverageValue).
	Target float64
	// Activation is the activation threshold (see Active).
	Activation float64
	// Type is the HPA metric target type, AverageValue or Value.
	Type autoscalingv2.MetricTargetType
}

// MetricType returns the HPA metric target type t names: AverageValue when t is
// empty (KEDA's default), else t.
func MetricType(t string) autoscalingv2.MetricTargetType {
	if t == "" {
		return autoscalingv2.AverageValueMetricType
	}
	return autoscalingv2.MetricTargetType(t)
}

// AverageValue reports whether the target is per replica.
func (r Rule) AverageValue() bool { return r.Type != autoscalingv2.ValueMetricType }

// Active reports whether s makes the trigger active: its measurement succeeded and
// its value is strictly greater than the activation threshold (as in KEDA).
func (r Rule) Active(s Sample) bool { return s.Err == nil && s.Value > r.Activation }

// BurstReplicas is the replica count a burst start asks for from s:
// ceil(value / target) for an active AverageValue trigger, bounded to int32; 0 when
// the trigger is not active, is a Value metric or has no positive target.
func (r Rule) BurstReplicas(s Sample) int32 {
	if !r.Active(s) || !r.AverageValue() || r.Target <= 0 {
		return 0
	}
	n := math.Ceil(s.Value / r.Target)
	if n >= math.MaxInt32 || math.IsNaN(n) {
		return math.MaxInt32
	}
	return int32(n)
}

// Fallback is spec.fallback as the model reads it: the replica count to hold while a
// trigger keeps failing.
type Fallback struct {
	// FailureThreshold is the number of consecutive failed measurements after which
	// fallback applies. A threshold below 1 is taken as 1.
	FailureThreshold int32
	// Replicas is the count fallback holds: fallback.replicas as written, or, once
	// activation has applied Behavior, the count it decided (see Hold).
	Replicas int32
	// Behavior is static (also when empty), currentReplicas,
	// currentReplicasIfHigher or currentReplicasIfLower.
	Behavior v1alpha1.FallbackBehavior
}

// Applies reports whether fallback applies to s: its latest measurement failed and
// it has failed at least FailureThreshold consecutive times (KEDA compares with >, one
// failure later). It is false on a nil Fallback and for a healthy sample, whatever its
// failure count says.
func (f *Fallback) Applies(s Sample) bool {
	if f == nil || s.Err == nil || s.ConsecutiveFailures <= 0 {
		return false
	}
	return s.ConsecutiveFailures >= int(max(f.FailureThreshold, 1))
}

// Hold returns the replica count fallback holds for a target at current replicas,
// per Behavior.
func (f *Fallback) Hold(current int32) int32 {
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

// Value is the metric value that makes an AverageValue HPA with target r hold
// f.Replicas: Replicas × Target.
func (f *Fallback) Value(r Rule) float64 { return float64(f.Replicas) * r.Target }
