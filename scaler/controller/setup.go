package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/hpa"
)

// SetupWithManager registers the field indexes, the controller and its watches, and
// the poller (which, like the controller, runs only on the elected leader).
func (r *Reconciler) SetupWithManager(ctx context.Context, mgr manager.Manager) error {
	r.client, r.reader, r.mapper = mgr.GetClient(), mgr.GetAPIReader(), mgr.GetRESTMapper()
	if err := r.replicas.register(ctx, mgr.GetCache()); err != nil {
		return err
	}
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.ScaledObject{}, indexTarget, func(o client.Object) []string {
		return soTargetKey(o.(*v1alpha1.ScaledObject))
	}); err != nil {
		return fmt.Errorf("index scaledobjects by target: %w", err)
	}
	if err := idx.IndexField(ctx, &v1alpha1.ScaledObject{}, indexAuth, func(o client.Object) []string {
		return soAuthKeys(o.(*v1alpha1.ScaledObject))
	}); err != nil {
		return fmt.Errorf("index scaledobjects by authentication: %w", err)
	}
	if err := idx.IndexField(ctx, &autoscalingv2.HorizontalPodAutoscaler{}, indexTarget, func(o client.Object) []string {
		return hpaTargetKey(o.(*autoscalingv2.HorizontalPodAutoscaler))
	}); err != nil {
		return fmt.Errorf("index hpas by target: %w", err)
	}
	kicks := source.Func(func(_ context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) error {
		r.mu.Lock()
		r.queue = q
		r.mu.Unlock()
		return nil
	})
	err := ctrl.NewControllerManagedBy(mgr).
		Named("scaledobject").
		For(&v1alpha1.ScaledObject{}, builder.WithPredicates(specChanged())).
		Watches(&v1alpha1.ScaledObject{}, handler.EnqueueRequestsFromMapFunc(r.sameTarget),
			builder.WithPredicates(createOrDelete())).
		Watches(&autoscalingv2.HorizontalPodAutoscaler{}, handler.EnqueueRequestsFromMapFunc(r.hpaReaders),
			builder.WithPredicates(specChanged())).
		Watches(&v1alpha1.TriggerAuthentication{}, handler.EnqueueRequestsFromMapFunc(r.authReaders),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.ClusterTriggerAuthentication{}, handler.EnqueueRequestsFromMapFunc(r.authReaders),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesMetadata(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.dataReaders("Secret"))).
		WatchesMetadata(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(r.dataReaders("ConfigMap"))).
		Watches(&appsv1.Deployment{}, handler.EnqueueRequestsFromMapFunc(r.targetReaders("apps", "Deployment")),
			builder.WithPredicates(templateChanged())).
		Watches(&appsv1.StatefulSet{}, handler.EnqueueRequestsFromMapFunc(r.targetReaders("apps", "StatefulSet")),
			builder.WithPredicates(templateChanged())).
		WatchesRawSource(kicks).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.opts.MaxConcurrentReconciles}).
		Complete(r)
	if err != nil {
		return fmt.Errorf("build controller: %w", err)
	}
	return mgr.Add(r.poller)
}

// specChanged passes creates, deletes and updates that change the spec (generation),
// annotations (pause), labels, owners, finalizers or the deletion timestamp. Status
// updates alone do not pass: the controller's own status writes never requeue.
func specChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		o, n := e.ObjectOld, e.ObjectNew
		return o.GetGeneration() != n.GetGeneration() ||
			!equality.Semantic.DeepEqual(o.GetAnnotations(), n.GetAnnotations()) ||
			!equality.Semantic.DeepEqual(o.GetLabels(), n.GetLabels()) ||
			!equality.Semantic.DeepEqual(o.GetOwnerReferences(), n.GetOwnerReferences()) ||
			!equality.Semantic.DeepEqual(o.GetFinalizers(), n.GetFinalizers()) ||
			(o.GetDeletionTimestamp() == nil) != (n.GetDeletionTimestamp() == nil)
	}}
}

func createOrDelete() predicate.Funcs {
	return predicate.Funcs{
		UpdateFunc: func(e event.UpdateEvent) bool {
			return (e.ObjectOld.GetDeletionTimestamp() == nil) != (e.ObjectNew.GetDeletionTimestamp() == nil)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// templateChanged passes creates, deletes and pod template changes of a target
// (its environment feeds "...FromEnv" keys), not its frequent status updates.
func templateChanged() predicate.Funcs {
	return predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		switch o := e.ObjectOld.(type) {
		case *appsv1.Deployment:
			n, ok := e.ObjectNew.(*appsv1.Deployment)
			return !ok || !equality.Semantic.DeepEqual(o.Spec.Template, n.Spec.Template)
		case *appsv1.StatefulSet:
			n, ok := e.ObjectNew.(*appsv1.StatefulSet)
			return !ok || !equality.Semantic.DeepEqual(o.Spec.Template, n.Spec.Template)
		}
		return true
	}}
}

func requests(list *v1alpha1.ScaledObjectList) []reconcile.Request {
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: keyOf(list.Items[i].Namespace, list.Items[i].Name)})
	}
	return out
}

func (r *Reconciler) byTarget(ctx context.Context, ns, key string) []reconcile.Request {
	var list v1alpha1.ScaledObjectList
	if err := r.client.List(ctx, &list, client.InNamespace(ns), client.MatchingFields{indexTarget: key}); err != nil {
		r.log.Error(err, "list scaledobjects by target")
		return nil
	}
	return requests(&list)
}

// sameTarget requeues the ScaledObjects sharing a created or deleted one's target
// (a refused one may now win).
func (r *Reconciler) sameTarget(ctx context.Context, o client.Object) []reconcile.Request {
	keys := soTargetKey(o.(*v1alpha1.ScaledObject))
	if len(keys) == 0 {
		return nil
	}
	return r.byTarget(ctx, o.GetNamespace(), keys[0])
}

// hpaReaders requeues an HPA's owner and the ScaledObjects targeting what it scales.
func (r *Reconciler) hpaReaders(ctx context.Context, o client.Object) []reconcile.Request {
	h := o.(*autoscalingv2.HorizontalPodAutoscaler)
	out := r.byTarget(ctx, h.Namespace, hpaTargetKey(h)[0])
	if ref := metav1.GetControllerOfNoCopy(h); ref != nil && ref.Kind == "ScaledObject" && ref.APIVersion == v1alpha1.GroupVersion.String() {
		out = append(out, reconcile.Request{NamespacedName: keyOf(h.Namespace, ref.Name)})
	}
	if v := h.Labels[hpa.LabelScaledObject]; v != "" && len(v) < 63 {
		out = append(out, reconcile.Request{NamespacedName: keyOf(h.Namespace, v)})
	}
	return out
}

// authReaders requeues the ScaledObjects referencing a (Cluster)TriggerAuthentication.
func (r *Reconciler) authReaders(ctx context.Context, o client.Object) []reconcile.Request {
	kind := v1alpha1.DefaultAuthKind
	var opts []client.ListOption
	if _, cluster := o.(*v1alpha1.ClusterTriggerAuthentication); cluster {
		kind = v1alpha1.ClusterAuthKind
	} else {
		opts = append(opts, client.InNamespace(o.GetNamespace()))
	}
	var list v1alpha1.ScaledObjectList
	opts = append(opts, client.MatchingFields{indexAuth: kind + "/" + o.GetName()})
	if err := r.client.List(ctx, &list, opts...); err != nil {
		r.log.Error(err, "list scaledobjects by authentication")
		return nil
	}
	return requests(&list)
}

// dataReaders requeues the ScaledObjects that read a Secret or ConfigMap.
func (r *Reconciler) dataReaders(kind string) handler.MapFunc {
	return func(_ context.Context, o client.Object) []reconcile.Request {
		return r.readers(objectRef{Kind: kind, NamespacedName: keyOf(o.GetNamespace(), o.GetName())})
	}
}

// targetReaders requeues the ScaledObjects scaling a Deployment or StatefulSet.
func (r *Reconciler) targetReaders(group, kind string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.byTarget(ctx, o.GetNamespace(), group+"/"+kind+"/"+o.GetName())
	}
}
