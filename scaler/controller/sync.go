package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/store"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// retryMissing is how often an object whose target or references are missing is
// looked at again when no watch would tell (targets of kinds other than Deployment
// and StatefulSet).
const retryMissing = 30 * time.Second

// sync handles the spec side of one ScaledObject. A problem with the spec or its
// references is recorded in st (and reported by writeStatus); the returned error is
// for transient API failures only.
func (r *Reconciler) sync(ctx context.Context, so *v1alpha1.ScaledObject, st *objState) (time.Duration, error) {
	key := st.key
	pause, errs := validate(so)
	if len(errs) > 0 {
		r.invalid(so, st, errs)
		return 0, nil
	}
	target, err := r.resolveTarget(ctx, so, st)
	if err != nil {
		return r.specOrTransient(so, st, err)
	}
	if err := r.checkClaims(ctx, so, target); err != nil {
		return r.specOrTransient(so, st, err)
	}
	rs := &resolver{r: r, so: so, target: target, refs: map[objectRef]bool{}}
	regs, err := r.buildTriggers(ctx, so, st, rs)
	r.setRefs(key, rs.refs)
	if err != nil {
		return r.specOrTransient(so, st, err)
	}

	if pause.Paused {
		closeNew(regs)
		if err := r.applyPause(ctx, so, st, target, pause); err != nil {
			return r.specOrTransient(so, st, err)
		}
	} else if err := r.applyTriggers(ctx, so, st, target, regs); err != nil {
		return r.specOrTransient(so, st, err) // a spec error comes from the HPA only
	}
	r.commitSpec(so, st, target, pause, metricsOf(regs))
	return 0, nil
}

// applyTriggers records the original replica count, makes the owned HPA match the
// triggers and registers them with the store. Sources not yet owned by the store are
// closed on error.
func (r *Reconciler) applyTriggers(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, target Target, regs []store.Registration) error {
	if err := r.recordOriginalReplicas(ctx, so, st, target); err != nil {
		closeNew(regs)
		return err
	}
	if err := r.ensureHPA(ctx, so, target, metricsOf(regs)); err != nil {
		closeNew(regs)
		return err
	}
	if err := r.store.Set(st.key, regs); err != nil {
		return fmt.Errorf("register triggers: %w", err)
	}
	return nil
}

// commitSpec records a valid spec in st, announces pause transitions and starts
// polling unless paused.
func (r *Reconciler) commitSpec(so *v1alpha1.ScaledObject, st *objState, target Target, pause v1alpha1.Pause, metrics []trigger.Metric) {
	key := st.key
	interval := so.Spec.PollingIntervalDuration()
	st.mu.Lock()
	wasPaused := st.pause.Paused
	st.valid, st.specErrs, st.lastSpecEvent = true, nil, ""
	st.pause, st.spec, st.interval = pause, activationSpec(so, pause), interval
	st.target, st.targetResolved = target, true
	st.triggers = metrics
	st.hpaName = so.HPAName()
	if pause.Paused {
		st.decided = false
	}
	st.mu.Unlock()
	r.m.setPaused(key, pause.Paused)
	if pause.Paused != wasPaused {
		if pause.Paused {
			r.event(so, corev1.EventTypeNormal, "Paused", "Pause", "scaling paused by annotation; HPA removed")
		} else {
			r.event(so, corev1.EventTypeNormal, "Unpaused", "Unpause", "scaling resumed")
		}
	}
	if !pause.Paused {
		r.poller.Add(key, interval)
	}
}

// specOrTransient records a spec error (returning no error, so the object is not
// retried in a hot loop) or returns a transient one for a rate-limited retry.
func (r *Reconciler) specOrTransient(so *v1alpha1.ScaledObject, st *objState, err error) (time.Duration, error) {
	var se *specError
	var ses specErrors
	switch {
	case errors.As(err, &ses):
		r.invalid(so, st, ses)
	case errors.As(err, &se):
		r.invalid(so, st, specErrors{se})
	default:
		return 0, err
	}
	switch st.specErrs.reason() {
	case v1alpha1.ReasonTargetNotFound, v1alpha1.ReasonAuthNotFound, v1alpha1.ReasonTargetNotScalable:
		return retryMissing, nil
	}
	return 0, nil
}

// invalid stops polling so, keeps its HPA and target as they are, and records the
// errors for the status; the Warning event is emitted when the message changes.
func (r *Reconciler) invalid(so *v1alpha1.ScaledObject, st *objState, errs specErrors) {
	r.poller.Remove(st.key)
	r.store.Remove(st.key)
	msg := errs.Error()
	st.mu.Lock()
	st.valid, st.specErrs, st.decided = false, errs, false
	emit := st.lastSpecEvent != msg
	st.lastSpecEvent = msg
	st.mu.Unlock()
	if emit {
		r.event(so, corev1.EventTypeWarning, errs.reason(), "Validate", "%s", msg)
		r.log.V(1).Info("scaledobject not ready", "scaledObject", st.key, "reason", errs.reason(), "message", msg)
	}
}

func activationSpec(so *v1alpha1.ScaledObject, pause v1alpha1.Pause) activation.Spec {
	s := &so.Spec
	spec := activation.Spec{
		MinReplicas: s.MinReplicas(), MaxReplicas: s.MaxReplicas(), IdleReplicas: s.IdleReplicaCount,
		Cooldown: s.CooldownDuration(), InitialCooldown: s.InitialCooldownDuration(),
		Created: so.CreationTimestamp.Time, BurstStart: s.BurstStart(), Pause: pause, Fallback: fallback(so),
	}
	return spec
}

// metricsOf returns the Metrics of regs, in order.
func metricsOf(regs []store.Registration) []trigger.Metric {
	out := make([]trigger.Metric, len(regs))
	for i, r := range regs {
		out[i] = r.Metric
	}
	return out
}

// resolveTarget maps scaleTargetRef to a resource, checks the object exists and
// (once per object UID) that its kind has a /scale subresource.
func (r *Reconciler) resolveTarget(ctx context.Context, so *v1alpha1.ScaledObject, st *objState) (Target, error) {
	ref := so.Spec.ScaleTargetRef
	gv, _ := schema.ParseGroupVersion(ref.TargetAPIVersion()) // validated
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.TargetKind()}
	m, err := r.mapper.RESTMapping(gk, gv.Version)
	if meta.IsNoMatchError(err) {
		return Target{}, newSpecError(v1alpha1.ReasonTargetNotScalable, "spec.scaleTargetRef.kind", "no kind %q is served in %s", gk.Kind, gv)
	}
	if err != nil {
		return Target{}, fmt.Errorf("map %s: %w", gk, err)
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return Target{}, newSpecError(v1alpha1.ReasonTargetNotScalable, "spec.scaleTargetRef.kind", "%s is cluster-scoped; the target must live in namespace %q", gk.Kind, so.Namespace)
	}
	t := Target{Namespace: so.Namespace, Name: ref.Name, GVK: m.GroupVersionKind, GVR: m.Resource}
	obj, err := r.targetMeta(ctx, t)
	if apierrors.IsNotFound(err) {
		return Target{}, newSpecError(v1alpha1.ReasonTargetNotFound, "spec.scaleTargetRef.name", "%s %q not found in namespace %q", gk.Kind, ref.Name, so.Namespace)
	}
	if err != nil {
		return Target{}, fmt.Errorf("get %s: %w", t, err)
	}
	st.mu.Lock()
	checked := st.scalableUID == obj.GetUID()
	st.mu.Unlock()
	if !checked {
		if _, err := r.scale.GetReplicas(ctx, t); err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				return Target{}, newSpecError(v1alpha1.ReasonTargetNotScalable, "spec.scaleTargetRef.kind", "%s has no /scale subresource", gk.Kind)
			}
			return Target{}, err
		}
		st.mu.Lock()
		st.scalableUID = obj.GetUID()
		st.mu.Unlock()
	}
	return t, nil
}

// recordOriginalReplicas saves the target's replica count in the status before the
// ScaledObject first changes it.
func (r *Reconciler) recordOriginalReplicas(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, t Target) error {
	if so.Status.OriginalReplicaCount != nil {
		return nil
	}
	st.mu.Lock()
	have := st.originalReplicas != nil
	st.mu.Unlock()
	if have {
		return nil
	}
	n, err := r.currentReplicas(ctx, t)
	if err != nil {
		return err
	}
	st.mu.Lock()
	st.originalReplicas = &n
	st.mu.Unlock()
	// Write it now: the HPA created next may change the count at once.
	return r.writeStatus(ctx, so, st)
}

// applyPause removes the HPA (as KEDA does), stops polling and holds the paused
// replica count if one is given.
func (r *Reconciler) applyPause(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, t Target, p v1alpha1.Pause) error {
	r.poller.Remove(st.key)
	r.store.Remove(st.key)
	if err := r.deleteOwnedHPAs(ctx, so, ""); err != nil {
		return err
	}
	if p.Replicas == nil {
		return nil
	}
	cur, err := r.currentReplicas(ctx, t)
	if err != nil {
		return err
	}
	if cur != *p.Replicas {
		if err := r.scale.SetReplicas(ctx, t, *p.Replicas); err != nil {
			return err
		}
		r.m.scaleWrite(nil)
		r.event(so, corev1.EventTypeNormal, activation.ReasonPausedReplicas, "Scale", "paused: %d → %d replicas", cur, *p.Replicas)
	}
	return nil
}

// key of an object, for logs.
func keyOf(ns, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: ns, Name: name}
}
