package scalere2e

import (
	"testing"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

// TestBurstStart: with spec.advanced.burstStart the first scale from zero goes
// straight to min(max, ceil(value/target)) — 95/5 = 19, capped at maxReplicaCount 10 —
// instead of 1, before the HPA's first sync.
func TestBurstStart(t *testing.T) {
	harness.Integration(t)
	ns, name := nsInProcess, "burststart"
	env.fake.Set(name, 0)
	so := scaledObject(ns, name, name, name)
	so.Spec.Advanced = &v1alpha1.AdvancedConfig{BurstStart: true}
	create(t, deployment(ns, name, 0), so)
	waitCondition(t, ns, name, v1alpha1.ConditionReady, "True")
	stop := watchReplicas(t, ns, name)
	env.fake.Set(name, 95)
	waitReplicas(t, ns, name, 10)
	samples := stop()
	for _, s := range samples {
		if s.replicas != 0 && s.replicas != 10 {
			t.Fatalf("went through %d replicas: burst start must jump from 0 to 10", s.replicas)
		}
	}
	waitEvent(t, ns, name, "Normal", "Activated")
}
