package controller

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// replicaIndex holds spec.replicas of every Deployment and StatefulSet, fed by the
// informers' events, so a poll reads its target's replica count without an API
// call and without copying the object out of the cache (5,000 polls per second
// would otherwise copy 5,000 objects per second).
type replicaIndex struct {
	mu sync.RWMutex
	m  map[replicaKey]int32
}

type replicaKey struct {
	kind string
	types.NamespacedName
}

func (x *replicaIndex) get(kind string, key types.NamespacedName) (int32, bool) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	n, ok := x.m[replicaKey{kind, key}]
	return n, ok
}

func (x *replicaIndex) set(obj any) {
	var k replicaKey
	var n int32
	switch o := obj.(type) {
	case *appsv1.Deployment:
		k, n = replicaKey{deploymentGK.Kind, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}}, replicasOrOne(o.Spec.Replicas)
	case *appsv1.StatefulSet:
		k, n = replicaKey{statefulSetGK.Kind, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}}, replicasOrOne(o.Spec.Replicas)
	default:
		return
	}
	x.mu.Lock()
	x.m[k] = n
	x.mu.Unlock()
}

func (x *replicaIndex) remove(obj any) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	var k replicaKey
	switch o := obj.(type) {
	case *appsv1.Deployment:
		k = replicaKey{deploymentGK.Kind, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}}
	case *appsv1.StatefulSet:
		k = replicaKey{statefulSetGK.Kind, types.NamespacedName{Namespace: o.Namespace, Name: o.Name}}
	default:
		return
	}
	x.mu.Lock()
	delete(x.m, k)
	x.mu.Unlock()
}

// register feeds the index from the cache's Deployment and StatefulSet informers.
func (x *replicaIndex) register(ctx context.Context, c cache.Cache) error {
	x.m = map[replicaKey]int32{}
	for _, obj := range []client.Object{&appsv1.Deployment{}, &appsv1.StatefulSet{}} {
		inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return fmt.Errorf("informer for %T: %w", obj, err)
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc:    x.set,
			UpdateFunc: func(_, n any) { x.set(n) },
			DeleteFunc: x.remove,
		}); err != nil {
			return fmt.Errorf("watch %T replicas: %w", obj, err)
		}
	}
	return nil
}
