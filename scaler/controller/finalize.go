package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

// finalize runs when a ScaledObject is being deleted: stop its poll and close its
// triggers, delete its HPAs, restore the target's original replica count when asked,
// then release the finalizer.
func (r *Reconciler) finalize(ctx context.Context, so *v1alpha1.ScaledObject) error {
	key := keyOf(so.Namespace, so.Name)
	if !controllerutil.ContainsFinalizer(so, Finalizer) {
		r.forget(key)
		return nil
	}
	r.poller.Remove(key)
	r.store.Remove(key)
	if err := r.deleteOwnedHPAs(ctx, so, ""); err != nil {
		return err
	}
	if a := so.Spec.Advanced; a != nil && a.RestoreToOriginalReplicaCount && so.Status.OriginalReplicaCount != nil && so.Spec.ScaleTargetRef != nil {
		if err := r.restore(ctx, so, *so.Status.OriginalReplicaCount); err != nil {
			return err
		}
	}
	patch := client.MergeFrom(so.DeepCopy())
	controllerutil.RemoveFinalizer(so, Finalizer)
	if err := r.client.Patch(ctx, so, patch, client.FieldOwner(FieldManager)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove finalizer: %w", err)
	}
	r.forget(key)
	return nil
}

// restore scales the target back to n. A target that is gone or not scalable is
// nothing to restore.
func (r *Reconciler) restore(ctx context.Context, so *v1alpha1.ScaledObject, n int32) error {
	st := r.state(so)
	t, err := r.resolveTarget(ctx, so, st)
	if isSpecError(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := r.scale.SetReplicas(ctx, t, n); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	}
	r.m.scaleWrite(nil)
	r.event(so, corev1.EventTypeNormal, "Restored", "Scale", "restored %s to its original %d replicas", t.Name, n)
	return nil
}
