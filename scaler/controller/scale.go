package controller

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/scale"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Target is a resolved scale target.
type Target struct {
	// Namespace and Name locate the target.
	Namespace, Name string
	// GVK is its kind, GVR its resource (from the RESTMapper).
	GVK schema.GroupVersionKind
	GVR schema.GroupVersionResource
}

func (t Target) String() string {
	return fmt.Sprintf("%s %s/%s", t.GVK.Kind, t.Namespace, t.Name)
}

// ScaleClient reads and writes a target's /scale subresource, so any scalable kind
// works. Implementations must be safe for concurrent use.
type ScaleClient interface {
	// GetReplicas returns the target's spec.replicas from /scale.
	GetReplicas(ctx context.Context, t Target) (int32, error)
	// SetReplicas sets the target's spec.replicas through /scale.
	SetReplicas(ctx context.Context, t Target, n int32) error
}

// FieldManager is the field manager of every write surge-scaler makes.
const FieldManager = "surge-scaler"

type scaleClient struct{ sc scale.ScalesGetter }

// NewScaleClient returns a ScaleClient on cfg. Give it its own rest.Config (QPS and
// burst) so scale writes never queue behind status writes.
func NewScaleClient(cfg *rest.Config, mapper meta.RESTMapper) (ScaleClient, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("scale client discovery: %w", err)
	}
	resolver := scale.NewDiscoveryScaleKindResolver(memory.NewMemCacheClient(dc))
	sc, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, resolver)
	if err != nil {
		return nil, fmt.Errorf("scale client: %w", err)
	}
	return &scaleClient{sc: sc}, nil
}

func (c *scaleClient) GetReplicas(ctx context.Context, t Target) (int32, error) {
	s, err := c.sc.Scales(t.Namespace).Get(ctx, t.GVR.GroupResource(), t.Name, metav1.GetOptions{})
	if err != nil {
		return 0, fmt.Errorf("get scale of %s: %w", t, err)
	}
	return s.Spec.Replicas, nil
}

func (c *scaleClient) SetReplicas(ctx context.Context, t Target, n int32) error {
	patch := fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n)
	_, err := c.sc.Scales(t.Namespace).Patch(ctx, t.GVR, t.Name, types.MergePatchType, patch,
		metav1.PatchOptions{FieldManager: FieldManager})
	if err != nil {
		return fmt.Errorf("scale %s to %d: %w", t, n, err)
	}
	return nil
}

var (
	deploymentGK  = schema.GroupKind{Group: "apps", Kind: "Deployment"}
	statefulSetGK = schema.GroupKind{Group: "apps", Kind: "StatefulSet"}
)

// cachedKind reports whether t's kind is read from the informer cache (replicas,
// pod template) instead of from the API.
func cachedKind(t Target) bool {
	gk := t.GVK.GroupKind()
	return t.GVK.Version == "v1" && (gk == deploymentGK || gk == statefulSetGK)
}

// currentReplicas reads the target's replica count: from the cache for Deployments
// and StatefulSets (no API call per poll), from /scale for other kinds.
func (r *Reconciler) currentReplicas(ctx context.Context, t Target) (int32, error) {
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	if cachedKind(t) && r.replicas.m != nil {
		if n, ok := r.replicas.get(t.GVK.Kind, key); ok {
			return n, nil
		}
	}
	switch t.GVK.GroupKind() {
	case deploymentGK:
		if t.GVK.Version == "v1" {
			var d appsv1.Deployment
			if err := r.client.Get(ctx, key, &d); err != nil {
				return 0, fmt.Errorf("get %s: %w", t, err)
			}
			return replicasOrOne(d.Spec.Replicas), nil
		}
	case statefulSetGK:
		if t.GVK.Version == "v1" {
			var s appsv1.StatefulSet
			if err := r.client.Get(ctx, key, &s); err != nil {
				return 0, fmt.Errorf("get %s: %w", t, err)
			}
			return replicasOrOne(s.Spec.Replicas), nil
		}
	}
	return r.scale.GetReplicas(ctx, t)
}

func replicasOrOne(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// targetMeta returns the target's metadata: from the cache for cached kinds, else
// from the API (a partial-metadata GET works for any kind).
func (r *Reconciler) targetMeta(ctx context.Context, t Target) (metav1.Object, error) {
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	if cachedKind(t) {
		var obj client.Object = &appsv1.Deployment{}
		if t.GVK.Kind == statefulSetGK.Kind {
			obj = &appsv1.StatefulSet{}
		}
		if err := r.client.Get(ctx, key, obj); err != nil {
			return nil, err
		}
		return obj, nil
	}
	pm := &metav1.PartialObjectMetadata{}
	pm.SetGroupVersionKind(t.GVK)
	if err := r.reader.Get(ctx, key, pm); err != nil {
		return nil, err
	}
	return pm, nil
}
