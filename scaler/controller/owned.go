package controller

import (
	"context"
	"fmt"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/hpa"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Field indexes.
const (
	// indexTarget indexes ScaledObjects and HPAs by "group/Kind/name" of their target.
	indexTarget = "surge.dev/target"
	// indexAuth indexes ScaledObjects by "Kind/name" of each authenticationRef.
	indexAuth = "surge.dev/auth"
)

func targetKey(apiVersion, kind, name string) string {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return ""
	}
	return gv.Group + "/" + kind + "/" + name
}

func soTargetKey(so *v1alpha1.ScaledObject) []string {
	ref := so.Spec.ScaleTargetRef
	if ref == nil {
		return nil
	}
	return []string{targetKey(ref.TargetAPIVersion(), ref.TargetKind(), ref.Name)}
}

func hpaTargetKey(h *autoscalingv2.HorizontalPodAutoscaler) []string {
	ref := h.Spec.ScaleTargetRef
	return []string{targetKey(ref.APIVersion, ref.Kind, ref.Name)}
}

func soAuthKeys(so *v1alpha1.ScaledObject) []string {
	var out []string
	for _, t := range so.Spec.Triggers {
		if r := t.AuthenticationRef; r != nil {
			out = append(out, r.AuthKind()+"/"+r.Name)
		}
	}
	return out
}

// olderThan orders ScaledObjects claiming the same target: the oldest wins, ties by
// name.
func olderThan(a, b *v1alpha1.ScaledObject) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// checkClaims refuses a target another ScaledObject (an older one) or an HPA this
// object does not own already scales, and an HPA name already taken.
func (r *Reconciler) checkClaims(ctx context.Context, so *v1alpha1.ScaledObject, t Target) error {
	key := targetKey(t.GVK.GroupVersion().String(), t.GVK.Kind, t.Name)
	field := "spec.scaleTargetRef"
	var sos v1alpha1.ScaledObjectList
	if err := r.client.List(ctx, &sos, client.InNamespace(so.Namespace), client.MatchingFields{indexTarget: key}); err != nil {
		return fmt.Errorf("list scaledobjects by target: %w", err)
	}
	for i := range sos.Items {
		o := &sos.Items[i]
		if o.UID != so.UID && o.DeletionTimestamp == nil && olderThan(o, so) {
			return newSpecError(v1alpha1.ReasonTargetClaimed, field, "%s %q is already scaled by ScaledObject %q", t.GVK.Kind, t.Name, o.Name)
		}
	}
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := r.client.List(ctx, &hpas, client.InNamespace(so.Namespace), client.MatchingFields{indexTarget: key}); err != nil {
		return fmt.Errorf("list hpas by target: %w", err)
	}
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if !hpa.IsOwnedBy(h, so) && h.DeletionTimestamp == nil {
			return newSpecError(v1alpha1.ReasonTargetClaimed, field, "%s %q is already scaled by HorizontalPodAutoscaler %q, which this ScaledObject does not own", t.GVK.Kind, t.Name, h.Name)
		}
	}
	var h autoscalingv2.HorizontalPodAutoscaler
	err := r.client.Get(ctx, types.NamespacedName{Namespace: so.Namespace, Name: so.HPAName()}, &h)
	if err == nil && !hpa.IsOwnedBy(&h, so) {
		return newSpecError(v1alpha1.ReasonHPAConflict, "spec.advanced.horizontalPodAutoscalerConfig.name",
			"HorizontalPodAutoscaler %q exists and is not owned by this ScaledObject", so.HPAName())
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("get hpa: %w", err)
	}
	return nil
}

// ensureHPA creates or updates the owned HPA (writing only when it differs) and
// deletes HPAs this object owns under another name.
func (r *Reconciler) ensureHPA(ctx context.Context, so *v1alpha1.ScaledObject, t Target, ms []trigger.Metric) error {
	desired := hpa.Build(so, hpa.Target{APIVersion: t.GVK.GroupVersion().String(), Kind: t.GVK.Kind, Name: t.Name}, ms)
	var live autoscalingv2.HorizontalPodAutoscaler
	err := r.client.Get(ctx, client.ObjectKeyFromObject(desired), &live)
	switch {
	case apierrors.IsNotFound(err):
		if err := r.client.Create(ctx, desired, client.FieldOwner(FieldManager)); err != nil {
			return hpaWriteError(err)
		}
		r.event(so, corev1.EventTypeNormal, "HPACreated", "Create", "created HorizontalPodAutoscaler %s with %d external metrics", desired.Name, len(ms))
	case err != nil:
		return fmt.Errorf("get hpa: %w", err)
	default:
		if out, changed := hpa.Apply(&live, desired); changed {
			if err := r.client.Update(ctx, out, client.FieldOwner(FieldManager)); err != nil {
				return hpaWriteError(err)
			}
			r.event(so, corev1.EventTypeNormal, "HPAUpdated", "Update", "updated HorizontalPodAutoscaler %s", desired.Name)
		}
	}
	return r.deleteOwnedHPAs(ctx, so, desired.Name)
}

// hpaWriteError turns an Invalid answer (e.g. a bad behavior) into a spec error.
func hpaWriteError(err error) error {
	if apierrors.IsInvalid(err) {
		return newSpecError(v1alpha1.ReasonInvalidSpec, "spec.advanced.horizontalPodAutoscalerConfig", "the HorizontalPodAutoscaler was rejected: %s", err.Error())
	}
	return fmt.Errorf("write hpa: %w", err)
}

// deleteOwnedHPAs deletes the HPAs so owns except keep.
func (r *Reconciler) deleteOwnedHPAs(ctx context.Context, so *v1alpha1.ScaledObject, keep string) error {
	var hpas autoscalingv2.HorizontalPodAutoscalerList
	if err := r.client.List(ctx, &hpas, client.InNamespace(so.Namespace),
		client.MatchingLabels{hpa.LabelScaledObject: hpa.SelectorValue(so.Name)}); err != nil {
		return fmt.Errorf("list owned hpas: %w", err)
	}
	for i := range hpas.Items {
		h := &hpas.Items[i]
		if h.Name == keep || !hpa.IsOwnedBy(h, so) {
			continue
		}
		if err := r.client.Delete(ctx, h); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete hpa %s: %w", h.Name, err)
		}
		r.event(so, corev1.EventTypeNormal, "HPADeleted", "Delete", "deleted HorizontalPodAutoscaler %s", h.Name)
	}
	return nil
}
