package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/meta"
	toolscache "k8s.io/client-go/tools/cache"
)

// lastApplied is kubectl's copy of the whole object: often the largest field.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// CacheTransform trims what surge-scaler's informers keep: managed fields and
// kubectl's last-applied annotation of every object, and the status of Deployments,
// StatefulSets and HPAs (the controller reads their spec and pod template only).
// Use it as the manager cache's DefaultTransform.
func CacheTransform(obj any) (any, error) {
	if d, ok := obj.(toolscache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			delete(a, lastApplied)
			m.SetAnnotations(a)
		}
	}
	switch o := obj.(type) {
	case *appsv1.Deployment:
		o.Status = appsv1.DeploymentStatus{}
	case *appsv1.StatefulSet:
		o.Status = appsv1.StatefulSetStatus{}
	case *autoscalingv2.HorizontalPodAutoscaler:
		o.Status = autoscalingv2.HorizontalPodAutoscalerStatus{}
	}
	return obj, nil
}

var _ toolscache.TransformFunc = CacheTransform
