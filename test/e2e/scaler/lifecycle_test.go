package scalere2e

import (
	"context"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/controller"
	"github.com/surge-autoscaler/surge/scaler/hpa"
	"github.com/surge-autoscaler/surge/test/harness"
)

// TestLifecycle: a ScaledObject with a fake trigger gets an HPA with the right
// External metric; the target goes to 0 (inactive), 0→1 when the trigger activates,
// the real HPA takes it to N through the metrics API, back to 0 after the cooldown;
// pause holds replicas and removes the HPA; deleting restores the original count.
func TestLifecycle(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	ns, name := nsInProcess, "lifecycle"
	env.fake.Set(name, 0)
	so := scaledObject(ns, name, name, name)
	so.Spec.Advanced = &v1alpha1.AdvancedConfig{RestoreToOriginalReplicaCount: true}
	create(t, deployment(ns, name, 2), so)

	// Ready, finalizer, HPA with one External metric named as in the status.
	so = waitCondition(t, ns, name, v1alpha1.ConditionReady, metav1.ConditionTrue)
	if len(so.Finalizers) != 1 || so.Finalizers[0] != controller.Finalizer {
		t.Fatalf("finalizers %v", so.Finalizers)
	}
	if got := so.Status.OriginalReplicaCount; got == nil || *got != 2 {
		t.Fatalf("originalReplicaCount %v, want 2", got)
	}
	if so.Status.HPAName != "surge-"+name || len(so.Status.ExternalMetricNames) != 1 {
		t.Fatalf("status hpaName %q metrics %v", so.Status.HPAName, so.Status.ExternalMetricNames)
	}
	h, err := getHPA(ns, "surge-"+name)
	if err != nil {
		t.Fatalf("HPA: %v", err)
	}
	wantMetric := hpa.MetricName(ns, name, "load")
	m := h.Spec.Metrics
	if len(m) != 1 || m[0].External == nil || m[0].External.Metric.Name != wantMetric || so.Status.ExternalMetricNames[0] != wantMetric ||
		m[0].External.Metric.Selector.MatchLabels[hpa.LabelScaledObject] != name ||
		m[0].External.Target.Type != autoscalingv2.AverageValueMetricType || m[0].External.Target.AverageValue.Cmp(resource.MustParse("5")) != 0 {
		t.Fatalf("HPA metrics: %+v", m)
	}
	if *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 10 || h.Spec.ScaleTargetRef.Name != name || !hpa.IsOwnedBy(h, so) {
		t.Fatalf("HPA spec: %+v", h.Spec)
	}

	// Inactive from the start (no initial cooldown): 2 → 0. The HPA may still write
	// its minimum (1) once, from a sync that read 2 replicas; the next poll takes it
	// back to 0 (the same race exists in KEDA). Wait until 0 holds.
	waitStableReplicas(t, ns, name, 0, 2*time.Second)
	waitCondition(t, ns, name, v1alpha1.ConditionActive, metav1.ConditionFalse)

	// Activation 0 → 1 by surge-scaler, then the real HPA reads 12/5 → 3 replicas.
	env.fake.Set(name, 12)
	took := harness.Eventually(t, "0→1", func() string {
		if replicas(t, ns, name) == 0 {
			return "still 0"
		}
		return ""
	})
	t.Logf("activation 0→1 took %s (pollingInterval 1 s)", took.Round(time.Millisecond))
	so = waitCondition(t, ns, name, v1alpha1.ConditionActive, metav1.ConditionTrue)
	if so.Status.LastActiveTime == nil {
		t.Fatal("lastActiveTime not set while active")
	}
	took = waitReplicas(t, ns, name, 3)
	t.Logf("HPA 1→3 through the metrics API took %s more", took.Round(time.Millisecond))
	waitEvent(t, ns, name, corev1.EventTypeNormal, "Activated")

	// Inactive: back to 0 after the 3 s cooldown, not before.
	env.fake.Set(name, 0)
	inactiveAt := time.Now()
	waitCondition(t, ns, name, v1alpha1.ConditionActive, metav1.ConditionTrue) // cooling down
	took = waitReplicas(t, ns, name, 0)
	if time.Since(inactiveAt) < 2*time.Second {
		t.Fatalf("scaled to 0 after %s, before the 3 s cooldown", time.Since(inactiveAt))
	}
	t.Logf("scale-in to 0 came %s after the trigger went inactive (cooldown 3 s)", took.Round(time.Millisecond))
	waitEvent(t, ns, name, corev1.EventTypeNormal, "Deactivated")

	// Pause at 4 replicas: HPA removed, target held.
	patchAnnotations(t, ns, name, map[string]any{v1alpha1.AnnotationPausedReplicasKEDA: "4"})
	waitReplicas(t, ns, name, 4)
	so = waitCondition(t, ns, name, v1alpha1.ConditionPaused, metav1.ConditionTrue)
	if p := so.Status.PausedReplicaCount; p == nil || *p != 4 {
		t.Fatalf("pausedReplicaCount %v", p)
	}
	harness.Eventually(t, "HPA deleted while paused", func() string {
		if _, err := getHPA(ns, "surge-"+name); !isNotFound(err) {
			return "still there"
		}
		return ""
	})
	env.fake.Set(name, 100) // ignored while paused
	time.Sleep(2 * time.Second)
	if got := replicas(t, ns, name); got != 4 {
		t.Fatalf("paused target moved to %d", got)
	}

	// Unpause: HPA back, scaling resumes.
	patchAnnotations(t, ns, name, map[string]any{v1alpha1.AnnotationPausedReplicasKEDA: nil})
	waitCondition(t, ns, name, v1alpha1.ConditionPaused, metav1.ConditionFalse)
	harness.Eventually(t, "HPA recreated", func() string {
		if _, err := getHPA(ns, "surge-"+name); err != nil {
			return err.Error()
		}
		return ""
	})

	// Delete: HPA gone, target restored to its original 2 replicas, object gone.
	env.fake.Set(name, 0)
	if err := env.c.Delete(ctx, getSO(t, ns, name)); err != nil {
		t.Fatal(err)
	}
	harness.Eventually(t, "ScaledObject gone", func() string {
		err := env.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &v1alpha1.ScaledObject{})
		if !isNotFound(err) {
			return "still there"
		}
		return ""
	})
	if _, err := getHPA(ns, "surge-"+name); !isNotFound(err) {
		t.Fatalf("HPA left behind: %v", err)
	}
	waitReplicas(t, ns, name, 2)
}

func patchAnnotations(t *testing.T, ns, name string, ann map[string]any) {
	t.Helper()
	patch := map[string]any{"metadata": map[string]any{"annotations": ann}}
	so := getSO(t, ns, name)
	if err := env.c.Patch(context.Background(), so, client.RawPatch("application/merge-patch+json", mustJSON(patch))); err != nil {
		t.Fatalf("patch annotations: %v", err)
	}
}
