package scalere2e

import (
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

// sourceOutage is how long the trigger's source fails in TestFallback (the issue's
// fault scenario: 60 s).
const sourceOutage = 60 * time.Second

// TestFallback: the trigger's source fails for 60 s while the target runs; after
// failureThreshold polls the target holds fallback.replicas (surge-scaler writes it
// and the HPA, reading fallback.replicas × target from the metrics API, agrees) for
// the whole outage; when the source returns, normal scaling resumes.
func TestFallback(t *testing.T) {
	harness.Integration(t)
	ns, name := nsInProcess, "fallback"
	env.fake.Set(name, 12)
	so := scaledObject(ns, name, name, name)
	so.Spec.Fallback = &v1alpha1.Fallback{FailureThreshold: 3, Replicas: 4}
	create(t, deployment(ns, name, 0), so)
	waitReplicas(t, ns, name, 3) // 0→1 by surge-scaler, 1→3 by the HPA (12/5)

	env.fake.SetError(name, errors.New("broker unreachable"))
	failedAt := time.Now()
	took := waitReplicas(t, ns, name, 4)
	t.Logf("fallback to 4 replicas %s after the source failed (failureThreshold 3, pollingInterval 1 s)", took.Round(time.Millisecond))
	if took < 2*time.Second {
		t.Fatalf("fallback after %s: before 3 failed polls", took)
	}
	so = waitCondition(t, ns, name, v1alpha1.ConditionFallback, metav1.ConditionTrue)
	if c := cond(so, v1alpha1.ConditionReady); c == nil || c.Reason != v1alpha1.ReasonTriggerError {
		t.Errorf("Ready during the outage: %+v", c)
	}
	waitEvent(t, ns, name, corev1.EventTypeWarning, v1alpha1.ReasonFallbackActive)
	// Held for the rest of the outage: never 0, never anything but 4 (well past the
	// 3 s cooldown: errors never scale in).
	for time.Since(failedAt) < sourceOutage {
		if got := replicas(t, ns, name); got != 4 {
			t.Fatalf("%s into the outage the target has %d replicas, want fallback 4", time.Since(failedAt).Round(time.Second), got)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// The source returns at 7: the HPA scales to ceil(7/5) = 2.
	env.fake.Set(name, 7)
	took = waitReplicas(t, ns, name, 2)
	t.Logf("normal scaling resumed %s after the source returned", took.Round(time.Millisecond))
	waitCondition(t, ns, name, v1alpha1.ConditionFallback, metav1.ConditionFalse)
	waitCondition(t, ns, name, v1alpha1.ConditionReady, metav1.ConditionTrue)
	// And to zero after the cooldown once inactive.
	env.fake.Set(name, 0)
	waitReplicas(t, ns, name, 0)
}
