package v1alpha1

import (
	"fmt"
	"strconv"
	"time"
)

// KEDA's defaults, also applied by the CRD schema. The helpers below apply them in Go
// for objects that did not pass through the API server (unit tests, dry runs).
const (
	DefaultPollingInterval       = 30
	DefaultCooldownPeriod        = 300
	DefaultInitialCooldownPeriod = 0
	DefaultMinReplicaCount       = 0
	DefaultMaxReplicaCount       = 100
	// DefaultTargetAPIVersion and DefaultTargetKind apply when scaleTargetRef omits them.
	DefaultTargetAPIVersion = "apps/v1"
	DefaultTargetKind       = "Deployment"
	// DefaultAuthKind applies when authenticationRef.kind is empty.
	DefaultAuthKind = "TriggerAuthentication"
	// ClusterAuthKind is authenticationRef.kind for a ClusterTriggerAuthentication.
	ClusterAuthKind = "ClusterTriggerAuthentication"
)

// Pause annotations: KEDA's spellings and Surge's. Surge's win when both are set.
const (
	AnnotationPausedKEDA         = "autoscaling.keda.sh/paused"
	AnnotationPausedReplicasKEDA = "autoscaling.keda.sh/paused-replicas"
	AnnotationPaused             = "surge.dev/paused"
	AnnotationPausedReplicas     = "surge.dev/paused-replicas"
)

func int32Or(p *int32, d int32) int32 {
	if p == nil {
		return d
	}
	return *p
}

// PollingIntervalDuration is spec.pollingInterval with its default.
func (s *ScaledObjectSpec) PollingIntervalDuration() time.Duration {
	return time.Duration(int32Or(s.PollingInterval, DefaultPollingInterval)) * time.Second
}

// CooldownDuration is spec.cooldownPeriod with its default.
func (s *ScaledObjectSpec) CooldownDuration() time.Duration {
	return time.Duration(int32Or(s.CooldownPeriod, DefaultCooldownPeriod)) * time.Second
}

// InitialCooldownDuration is spec.initialCooldownPeriod with its default.
func (s *ScaledObjectSpec) InitialCooldownDuration() time.Duration {
	return time.Duration(int32Or(s.InitialCooldownPeriod, DefaultInitialCooldownPeriod)) * time.Second
}

// MinReplicas is spec.minReplicaCount with its default.
func (s *ScaledObjectSpec) MinReplicas() int32 {
	return int32Or(s.MinReplicaCount, DefaultMinReplicaCount)
}

// MaxReplicas is spec.maxReplicaCount with its default.
func (s *ScaledObjectSpec) MaxReplicas() int32 {
	return int32Or(s.MaxReplicaCount, DefaultMaxReplicaCount)
}

// BurstStart reports spec.advanced.burstStart.
func (s *ScaledObjectSpec) BurstStart() bool {
	return s.Advanced != nil && s.Advanced.BurstStart
}

// TargetAPIVersion is scaleTargetRef.apiVersion with its default.
func (t *ScaleTarget) TargetAPIVersion() string {
	if t.APIVersion == "" {
		return DefaultTargetAPIVersion
	}
	return t.APIVersion
}

// TargetKind is scaleTargetRef.kind with its default.
func (t *ScaleTarget) TargetKind() string {
	if t.Kind == "" {
		return DefaultTargetKind
	}
	return t.Kind
}

// AuthKind is authenticationRef.kind with its default.
func (r *AuthenticationRef) AuthKind() string {
	if r.Kind == "" {
		return DefaultAuthKind
	}
	return r.Kind
}

// HPAName is the name of the HPA the ScaledObject owns.
func (so *ScaledObject) HPAName() string {
	if a := so.Spec.Advanced; a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Name != "" {
		return a.HorizontalPodAutoscalerConfig.Name
	}
	return "surge-" + so.Name
}

// Pause is what the pause annotations ask for.
type Pause struct {
	// Paused is true when scaling is paused.
	Paused bool
	// Replicas is the replica count to hold while paused; nil holds the current one.
	Replicas *int32
}

// PauseFromAnnotations reads the pause annotations (KEDA semantics): paused-replicas
// N pauses at N replicas; paused "true" pauses at the current count; paused "false"
// overrides paused-replicas and unpauses. A value that does not parse is an error
// naming the annotation.
func PauseFromAnnotations(a map[string]string) (Pause, error) {
	pausedKey, pausedVal, hasPaused := pick(a, AnnotationPaused, AnnotationPausedKEDA)
	replKey, replVal, hasRepl := pick(a, AnnotationPausedReplicas, AnnotationPausedReplicasKEDA)
	var p Pause
	if hasPaused {
		b, err := strconv.ParseBool(pausedVal)
		if err != nil {
			return Pause{}, fmt.Errorf("metadata.annotations[%s]: %q is not a boolean (want \"true\" or \"false\")", pausedKey, pausedVal)
		}
		if !b {
			return Pause{}, nil
		}
		p.Paused = true
	}
	if hasRepl {
		n, err := strconv.ParseInt(replVal, 10, 32)
		if err != nil || n < 0 {
			return Pause{}, fmt.Errorf("metadata.annotations[%s]: %q is not a replica count (want an integer >= 0)", replKey, replVal)
		}
		r := int32(n)
		p.Paused, p.Replicas = true, &r
	}
	return p, nil
}

func pick(a map[string]string, keys ...string) (key, val string, ok bool) {
	for _, k := range keys {
		if v, found := a[k]; found {
			return k, v, true
		}
	}
	return "", "", false
}
