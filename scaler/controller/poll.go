package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// poll measures one ScaledObject's triggers, decides and applies the decision. It
// runs on a poller worker, never concurrently for one object.
func (r *Reconciler) poll(ctx context.Context, key types.NamespacedName) {
	st := r.getState(key)
	if st == nil {
		return
	}
	st.mu.Lock()
	valid, spec, target, metrics, gauges, lastActive := st.valid && !st.pause.Paused, st.spec, st.target, st.triggers, st.gauges, st.lastActive
	st.mu.Unlock()
	if !valid {
		return
	}
	readings, err := r.store.MeasureOwner(ctx, key)
	if err != nil {
		return // removed meanwhile, or shutting down
	}
	cur, err := r.currentReplicas(ctx, target)
	if err != nil {
		r.log.V(1).Info("cannot read the target's replicas", "scaledObject", key, "err", err.Error())
		return
	}
	if !registered(readings, metrics) {
		return // the spec changed under us; the next poll uses the new one
	}
	failure := ""
	for _, rd := range readings {
		if rd.Err != nil && failure == "" {
			failure = rd.Err.Error()
		}
		if g := gauges[rd.Key.Name]; g != nil {
			g.Set(oneIf(rd.Active()))
		}
	}
	d := activation.Decide(activation.Input{Now: r.clock.Now(), Spec: spec, Triggers: readings, CurrentReplicas: cur, LastActive: lastActive})
	so := r.eventObject(st)
	if d.Scale && !r.applyScale(ctx, so, target, cur, d) {
		return // decide again at the next poll; keep the old state
	}
	if d.Fallback {
		r.store.SetFallbackReplicas(key, d.FallbackReplicas)
	}
	if r.record(st, d, failure, so) {
		r.kick(key)
	}
}

// registered reports whether every reading is of a metric the controller registered
// for the object's current spec.
func registered(readings []trigger.Reading, metrics []trigger.Metric) bool {
	names := make(map[string]bool, len(metrics))
	for _, m := range metrics {
		names[m.Key.Name] = true
	}
	for _, rd := range readings {
		if !names[rd.Key.Name] {
			return false
		}
	}
	return true
}

// applyScale writes the decided replica count through /scale and reports whether it
// landed, with an event either way.
func (r *Reconciler) applyScale(ctx context.Context, so *v1alpha1.ScaledObject, target Target, cur int32, d activation.Decision) bool {
	err := r.scale.SetReplicas(ctx, target, d.Replicas)
	r.m.scaleWrite(err)
	if err != nil {
		r.event(so, corev1.EventTypeWarning, "ScaleFailed", "Scale", "%s: %d → %d replicas failed: %s", d.Reason, cur, d.Replicas, err.Error())
		r.log.Info("scale failed", "scaledObject", keyOf(so.Namespace, so.Name), "target", target.String(), "replicas", d.Replicas, "err", err.Error())
		return false
	}
	r.event(so, corev1.EventTypeNormal, d.Reason, "Scale", "%s", d.Message)
	r.log.V(1).Info("scaled", "scaledObject", keyOf(so.Namespace, so.Name), "reason", d.Reason, "from", cur, "to", d.Replicas)
	return true
}

// record stores the decision and reports whether the status must be written: a
// condition changed, or the persisted last active time is older than
// LastActiveRefresh while a trigger is active. It emits the events of transitions.
func (r *Reconciler) record(st *objState, d activation.Decision, failure string, so *v1alpha1.ScaledObject) bool {
	st.mu.Lock()
	before := st.view()
	st.decided, st.decision, st.lastActive, st.failure = true, d, d.LastActive, failure
	after := st.view()
	refresh := d.Active && d.ActiveReason == v1alpha1.ReasonActive &&
		d.LastActive.Sub(st.persistedLA) >= r.opts.LastActiveRefresh
	st.mu.Unlock()
	if before.health != after.health || !before.decided {
		switch after.health {
		case activation.Failing:
			r.event(so, corev1.EventTypeWarning, v1alpha1.ReasonTriggerError, "Measure", "every trigger fails: %s", failure)
		case activation.PartialFailure:
			r.event(so, corev1.EventTypeWarning, v1alpha1.ReasonPartialTriggerError, "Measure", "a trigger fails: %s", failure)
		default:
			if before.decided {
				r.event(so, corev1.EventTypeNormal, "TriggersRecovered", "Measure", "every trigger measures again")
			}
		}
	}
	if before.fallback != after.fallback {
		if after.fallback {
			r.event(so, corev1.EventTypeWarning, v1alpha1.ReasonFallbackActive, "Fallback", "fallback applies: holding %d replicas", d.FallbackReplicas)
		} else if before.decided {
			r.event(so, corev1.EventTypeNormal, "FallbackCleared", "Fallback", "triggers measure again; fallback no longer applies")
		}
	}
	return before != after || refresh
}

// eventObject is a minimal ScaledObject to attach events to from the poll path.
func (r *Reconciler) eventObject(st *objState) *v1alpha1.ScaledObject {
	st.mu.Lock()
	uid := st.uid
	st.mu.Unlock()
	return &v1alpha1.ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.GroupVersion.String(), Kind: "ScaledObject"},
		ObjectMeta: metav1.ObjectMeta{Namespace: st.key.Namespace, Name: st.key.Name, UID: uid},
	}
}

// oneIf is 1 when b holds, else 0 (a Prometheus gauge of a condition).
func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
