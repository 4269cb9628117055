package controller

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func readySnapshot() snapshot {
	return snapshot{generation: 2, valid: true, targetResolved: true,
		target:      Target{Namespace: "ns", Name: "web", GVK: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, GVR: schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		metricNames: []string{"m1"}, hpaName: "surge-web", originalReplicas: i32(2)}
}

func condOf(st v1alpha1.ScaledObjectStatus, typ string) metav1.Condition {
	c := meta.FindStatusCondition(st.Conditions, typ)
	if c == nil {
		return metav1.Condition{}
	}
	return *c
}

func TestComputeStatus(t *testing.T) {
	refresh := time.Minute
	active := func(d *snapshot, at time.Time) {
		d.decided = true
		d.decision = activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonActive, LastActive: at}
		d.lastActive = at
	}
	t.Run("ready and waiting for the first poll", func(t *testing.T) {
		s := computeStatus(v1alpha1.ScaledObjectStatus{}, readySnapshot(), t0, refresh)
		if c := condOf(s, v1alpha1.ConditionReady); c.Status != metav1.ConditionTrue || c.Reason != v1alpha1.ReasonReady || c.ObservedGeneration != 2 {
			t.Fatalf("Ready %+v", c)
		}
		if c := condOf(s, v1alpha1.ConditionActive); c.Status != metav1.ConditionUnknown {
			t.Fatalf("Active %+v", c)
		}
		if s.HPAName != "surge-web" || s.ScaleTargetKind != "apps/v1.Deployment" || s.ScaleTargetGVKR.Resource != "deployments" ||
			*s.OriginalReplicaCount != 2 || s.ExternalMetricNames[0] != "m1" || s.ObservedGeneration != 2 {
			t.Fatalf("status %+v", s)
		}
	})
	t.Run("steady state computes an identical status", func(t *testing.T) {
		snap := readySnapshot()
		active(&snap, t0)
		first := computeStatus(v1alpha1.ScaledObjectStatus{}, snap, t0, refresh)
		active(&snap, t0.Add(30*time.Second)) // polls later, still active, inside refresh
		second := computeStatus(first, snap, t0.Add(30*time.Second), refresh)
		if !equality.Semantic.DeepEqual(first, second) {
			t.Fatalf("status changed in steady state:\n%+v\n%+v", first, second)
		}
		if first.LastActiveTime == nil || !first.LastActiveTime.Time.Equal(t0) {
			t.Fatalf("lastActiveTime %v", first.LastActiveTime)
		}
		active(&snap, t0.Add(61*time.Second)) // refresh due
		third := computeStatus(second, snap, t0.Add(61*time.Second), refresh)
		if !third.LastActiveTime.Time.Equal(t0.Add(61 * time.Second)) {
			t.Fatalf("lastActiveTime not refreshed: %v", third.LastActiveTime)
		}
	})
	t.Run("active to cooldown edge writes lastActiveTime exactly, rounded up", func(t *testing.T) {
		snap := readySnapshot()
		at := t0.Add(1500 * time.Millisecond)
		active(&snap, t0)
		cur := computeStatus(v1alpha1.ScaledObjectStatus{}, snap, t0, refresh)
		snap.decision = activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonCooldown, LastActive: at}
		snap.lastActive = at
		s := computeStatus(cur, snap, at.Add(time.Second), refresh)
		if !s.LastActiveTime.Time.Equal(t0.Add(2 * time.Second)) {
			t.Fatalf("lastActiveTime %v, want %v (never earlier than the truth)", s.LastActiveTime, t0.Add(2*time.Second))
		}
		if c := condOf(s, v1alpha1.ConditionActive); c.Reason != v1alpha1.ReasonCooldown || c.Status != metav1.ConditionTrue {
			t.Fatalf("Active %+v", c)
		}
	})
	t.Run("invalid spec keeps the last good fields", func(t *testing.T) {
		good := computeStatus(v1alpha1.ScaledObjectStatus{}, readySnapshot(), t0, refresh)
		snap := snapshot{generation: 3, specErrs: specErrors{newSpecError(v1alpha1.ReasonInvalidSpec, "spec.minReplicaCount", "5 must be <= spec.maxReplicaCount (3)")}}
		s := computeStatus(good, snap, t0.Add(time.Minute), refresh)
		c := condOf(s, v1alpha1.ConditionReady)
		if c.Status != metav1.ConditionFalse || c.Reason != v1alpha1.ReasonInvalidSpec || c.Message != "spec.minReplicaCount: 5 must be <= spec.maxReplicaCount (3)" {
			t.Fatalf("Ready %+v", c)
		}
		if !c.LastTransitionTime.Time.Equal(t0.Add(time.Minute)) {
			t.Fatalf("transition time %v", c.LastTransitionTime)
		}
		if s.HPAName != "surge-web" || len(s.ExternalMetricNames) != 1 {
			t.Fatalf("last good fields dropped: %+v", s)
		}
	})
	t.Run("not yet reconciled has a reason", func(t *testing.T) {
		s := computeStatus(v1alpha1.ScaledObjectStatus{}, snapshot{originalReplicas: i32(3)}, t0, refresh)
		if c := condOf(s, v1alpha1.ConditionReady); c.Status != metav1.ConditionUnknown || c.Reason == "" {
			t.Fatalf("Ready %+v", c)
		}
		for _, c := range s.Conditions {
			if c.Reason == "" || c.Message == "" {
				t.Fatalf("condition without reason/message: %+v", c)
			}
		}
		if *s.OriginalReplicaCount != 3 {
			t.Fatal("originalReplicaCount")
		}
	})
	tests := []struct {
		name     string
		decision activation.Decision
		pause    v1alpha1.Pause
		want     map[string]metav1.ConditionStatus
		reasons  map[string]string
	}{
		{name: "all failing without fallback",
			decision: activation.Decision{Health: activation.Failing, ActiveReason: v1alpha1.ReasonNotActive},
			want:     map[string]metav1.ConditionStatus{v1alpha1.ConditionReady: metav1.ConditionFalse, v1alpha1.ConditionFallback: metav1.ConditionFalse},
			reasons:  map[string]string{v1alpha1.ConditionReady: v1alpha1.ReasonTriggerError}},
		{name: "all failing with fallback",
			decision: activation.Decision{Health: activation.Failing, Fallback: true, FallbackReplicas: 4, ActiveReason: v1alpha1.ReasonNotActive},
			want:     map[string]metav1.ConditionStatus{v1alpha1.ConditionReady: metav1.ConditionFalse, v1alpha1.ConditionFallback: metav1.ConditionTrue},
			reasons:  map[string]string{v1alpha1.ConditionFallback: v1alpha1.ReasonFallbackActive}},
		{name: "partial failure",
			decision: activation.Decision{Health: activation.PartialFailure, Active: true, ActiveReason: v1alpha1.ReasonActive},
			want:     map[string]metav1.ConditionStatus{v1alpha1.ConditionReady: metav1.ConditionUnknown, v1alpha1.ConditionActive: metav1.ConditionTrue},
			reasons:  map[string]string{v1alpha1.ConditionReady: v1alpha1.ReasonPartialTriggerError}},
		{name: "paused",
			decision: activation.Decision{Paused: true, ActiveReason: v1alpha1.ReasonPaused},
			pause:    v1alpha1.Pause{Paused: true, Replicas: i32(3)},
			want:     map[string]metav1.ConditionStatus{v1alpha1.ConditionPaused: metav1.ConditionTrue, v1alpha1.ConditionActive: metav1.ConditionFalse},
			reasons:  map[string]string{v1alpha1.ConditionPaused: v1alpha1.ReasonPaused}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := readySnapshot()
			snap.decided, snap.decision, snap.pause = true, tt.decision, tt.pause
			s := computeStatus(v1alpha1.ScaledObjectStatus{}, snap, t0, refresh)
			for typ, want := range tt.want {
				if c := condOf(s, typ); c.Status != want {
					t.Errorf("%s = %s (%s), want %s", typ, c.Status, c.Reason, want)
				}
			}
			for typ, want := range tt.reasons {
				if c := condOf(s, typ); c.Reason != want {
					t.Errorf("%s reason %s, want %s", typ, c.Reason, want)
				}
			}
			if tt.pause.Paused && (s.HPAName != "" || s.PausedReplicaCount == nil || *s.PausedReplicaCount != 3) {
				t.Errorf("paused: hpaName %q pausedReplicaCount %v", s.HPAName, s.PausedReplicaCount)
			}
		})
	}
}

func TestNewObjStateAfterRestart(t *testing.T) {
	la := metav1.NewTime(t0)
	now := t0.Add(time.Minute)
	so := &v1alpha1.ScaledObject{Status: v1alpha1.ScaledObjectStatus{LastActiveTime: &la}}
	so.Status.Conditions = []metav1.Condition{{Type: v1alpha1.ConditionActive, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonActive}}
	if st := newObjState(so, now); !st.lastActive.Equal(now) {
		t.Fatalf("active before the restart: lastActive %v, want now (%v)", st.lastActive, now)
	}
	so.Status.Conditions[0].Reason = v1alpha1.ReasonCooldown
	if st := newObjState(so, now); !st.lastActive.Equal(t0) {
		t.Fatalf("cooling down before the restart: lastActive %v, want status.lastActiveTime (%v)", st.lastActive, t0)
	}
	so.Status.Conditions[0].Status = metav1.ConditionFalse
	so.Status.Conditions[0].Reason = v1alpha1.ReasonNotActive
	if st := newObjState(so, now); !st.lastActive.Equal(t0) {
		t.Fatalf("inactive: lastActive %v", st.lastActive)
	}
}
