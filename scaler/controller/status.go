package controller

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

// snapshot is what computeStatus reads from an objState.
type snapshot struct {
	generation       int64
	valid            bool
	specErrs         specErrors
	pause            v1alpha1.Pause
	target           Target
	targetResolved   bool
	metricNames      []string
	hpaName          string
	originalReplicas *int32
	decided          bool
	decision         activation.Decision
	lastActive       time.Time
	failure          string
}

func (st *objState) snapshot(gen int64) snapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := snapshot{generation: gen, valid: st.valid, specErrs: st.specErrs, pause: st.pause, target: st.target,
		targetResolved: st.targetResolved, hpaName: st.hpaName, originalReplicas: st.originalReplicas,
		decided: st.decided, decision: st.decision, lastActive: st.lastActive, failure: st.failure}
	for _, m := range st.triggers {
		s.metricNames = append(s.metricNames, m.Key.Name)
	}
	return s
}

// computeStatus returns the status so should have. Messages are fixed per reason
// (no measured values), so a steady state computes an identical status and
// writeStatus writes nothing.
func computeStatus(cur v1alpha1.ScaledObjectStatus, s snapshot, now time.Time, refresh time.Duration) v1alpha1.ScaledObjectStatus {
	c := conditions{out: *cur.DeepCopy(), gen: s.generation, now: now.Truncate(time.Second)} // the API keeps seconds
	c.out.ObservedGeneration = s.generation
	c.target(s)
	c.paused(s)
	if !s.valid {
		c.invalid(s)
		return c.out
	}
	c.out.ExternalMetricNames = s.metricNames
	c.out.HPAName = s.hpaName
	if s.pause.Paused {
		c.out.HPAName = ""
	}
	c.ready(s)
	c.active(s)
	c.fallback(s)
	c.out.LastActiveTime = lastActiveTime(c.out.LastActiveTime, s, refresh)
	return c.out
}

// conditions builds one status: out is the status being computed, gen and now stamp
// the conditions it sets.
type conditions struct {
	out v1alpha1.ScaledObjectStatus
	gen int64
	now time.Time
}

func (c *conditions) set(typ string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&c.out.Conditions, metav1.Condition{Type: typ, Status: status, Reason: reason,
		Message: msg, ObservedGeneration: c.gen, LastTransitionTime: metav1.NewTime(c.now)})
}

func (c *conditions) has(typ string) bool {
	return meta.FindStatusCondition(c.out.Conditions, typ) != nil
}

// target records the resolved scale target's kind and resource, and the original
// replica count once.
func (c *conditions) target(s snapshot) {
	if s.targetResolved {
		gvk := s.target.GVK
		c.out.ScaleTargetKind = gvk.GroupVersion().String() + "." + gvk.Kind
		c.out.ScaleTargetGVKR = &v1alpha1.GroupVersionKindResource{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Resource: s.target.GVR.Resource}
	}
	if c.out.OriginalReplicaCount == nil && s.originalReplicas != nil {
		n := *s.originalReplicas
		c.out.OriginalReplicaCount = &n
	}
}

// paused sets the Paused condition and pausedReplicaCount.
func (c *conditions) paused(s snapshot) {
	c.out.PausedReplicaCount = nil
	if !s.pause.Paused {
		c.set(v1alpha1.ConditionPaused, metav1.ConditionFalse, v1alpha1.ReasonUnpaused, "scaling is not paused")
		return
	}
	msg := "scaling is paused by annotation at the current replica count"
	if r := s.pause.Replicas; r != nil {
		n := *r
		c.out.PausedReplicaCount = &n
		msg = fmt.Sprintf("scaling is paused by annotation at %d replicas", n)
	}
	c.set(v1alpha1.ConditionPaused, metav1.ConditionTrue, v1alpha1.ReasonPaused, msg)
}

// invalid sets Ready from the spec errors (or Unknown while being set up) and gives
// Active and Fallback a first value if they have none.
func (c *conditions) invalid(s snapshot) {
	if len(s.specErrs) == 0 {
		c.set(v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonReconciling, "the ScaledObject is being set up")
	} else {
		c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, s.specErrs.reason(), s.specErrs.Error())
	}
	if !c.has(v1alpha1.ConditionActive) {
		c.set(v1alpha1.ConditionActive, metav1.ConditionUnknown, v1alpha1.ReasonUnknown, "no measurement yet")
	}
	if !c.has(v1alpha1.ConditionFallback) {
		c.set(v1alpha1.ConditionFallback, metav1.ConditionFalse, v1alpha1.ReasonNoFallback, "fallback does not apply")
	}
}

// ready sets Ready from the triggers' health.
func (c *conditions) ready(s snapshot) {
	switch {
	case s.decided && s.decision.Health == activation.Failing && s.decision.Fallback:
		c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTriggerError, "every trigger fails to measure; fallback applies; see the events")
	case s.decided && s.decision.Health == activation.Failing:
		c.set(v1alpha1.ConditionReady, metav1.ConditionFalse, v1alpha1.ReasonTriggerError, "every trigger fails to measure; see the events")
	case s.decided && s.decision.Health != activation.Healthy:
		c.set(v1alpha1.ConditionReady, metav1.ConditionUnknown, v1alpha1.ReasonPartialTriggerError, "some triggers fail to measure; see the events")
	default:
		c.set(v1alpha1.ConditionReady, metav1.ConditionTrue, v1alpha1.ReasonReady, "ScaledObject is defined correctly and is ready for scaling")
	}
}

// active sets Active from the latest decision.
func (c *conditions) active(s snapshot) {
	switch {
	case s.pause.Paused:
		c.set(v1alpha1.ConditionActive, metav1.ConditionFalse, v1alpha1.ReasonPaused, "scaling is paused")
	case !s.decided:
		if !c.has(v1alpha1.ConditionActive) {
			c.set(v1alpha1.ConditionActive, metav1.ConditionUnknown, v1alpha1.ReasonUnknown, "no measurement yet")
		}
	case s.decision.Active && s.decision.ActiveReason == v1alpha1.ReasonCooldown:
		c.set(v1alpha1.ConditionActive, metav1.ConditionTrue, v1alpha1.ReasonCooldown, "no trigger is active; the cooldown period runs")
	case s.decision.Active:
		c.set(v1alpha1.ConditionActive, metav1.ConditionTrue, v1alpha1.ReasonActive, "a trigger is active")
	default:
		c.set(v1alpha1.ConditionActive, metav1.ConditionFalse, v1alpha1.ReasonNotActive, "no trigger is active")
	}
}

// fallback sets Fallback from the latest decision.
func (c *conditions) fallback(s snapshot) {
	if s.decided && s.decision.Fallback {
		c.set(v1alpha1.ConditionFallback, metav1.ConditionTrue, v1alpha1.ReasonFallbackActive,
			fmt.Sprintf("triggers fail past fallback.failureThreshold; holding %d replicas", s.decision.FallbackReplicas))
	} else if s.decided || !c.has(v1alpha1.ConditionFallback) {
		c.set(v1alpha1.ConditionFallback, metav1.ConditionFalse, v1alpha1.ReasonNoFallback, "fallback does not apply")
	}
}

// lastActiveTime is status.lastActiveTime: exact on the active→inactive edge, at most
// refresh stale while active, never earlier than the truth; old when unchanged.
func lastActiveTime(old *metav1.Time, s snapshot, refresh time.Duration) *metav1.Time {
	if s.lastActive.IsZero() {
		return old
	}
	var prev time.Time
	if old != nil {
		prev = old.Time
	}
	stillActive := s.decision.Active && s.decision.ActiveReason == v1alpha1.ReasonActive
	if !s.lastActive.After(prev) || (stillActive && !prev.IsZero() && s.lastActive.Sub(prev) < refresh) {
		return old
	}
	t := metav1.NewTime(s.lastActive.Truncate(time.Second)) // the API keeps seconds
	if t.Time.Before(s.lastActive) && !stillActive {
		t = metav1.NewTime(s.lastActive.Truncate(time.Second).Add(time.Second)) // never earlier than the truth
	}
	return &t
}

// writeStatus writes so's status when it differs from what computeStatus wants.
func (r *Reconciler) writeStatus(ctx context.Context, so *v1alpha1.ScaledObject, st *objState) error {
	s := st.snapshot(so.Generation)
	desired := computeStatus(so.Status, s, r.clock.Now(), r.opts.LastActiveRefresh)
	if equality.Semantic.DeepEqual(so.Status, desired) {
		return nil
	}
	st.mu.Lock()
	same := st.lastWritten != nil && st.lastWrittenRV == so.ResourceVersion && equality.Semantic.DeepEqual(*st.lastWritten, desired)
	st.mu.Unlock()
	if same {
		return nil // written already; the cache has not caught up
	}
	oldRV := so.ResourceVersion
	patch := client.MergeFrom(so.DeepCopy())
	so.Status = desired
	if err := r.client.Status().Patch(ctx, so, patch, client.FieldOwner(FieldManager)); err != nil {
		return fmt.Errorf("write status: %w", err)
	}
	r.m.statusWrite()
	st.mu.Lock()
	st.lastWritten = desired.DeepCopy()
	st.lastWrittenRV = oldRV // what the cache shows until it sees our write
	if desired.LastActiveTime != nil {
		st.persistedLA = desired.LastActiveTime.Time
	}
	st.mu.Unlock()
	return nil
}
