package hpa

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Target is the resolved scale target.
type Target struct {
	APIVersion string
	Kind       string
	Name       string
}

// Quantity converts a target to a Quantity with milli precision. Targets below
// 0.001 are not representable; the controller rejects them (TargetQuantity errors).
func Quantity(v float64) *resource.Quantity {
	return resource.NewMilliQuantity(int64(math.Round(v*1000)), resource.DecimalSI)
}

// CheckTarget reports whether v can be an HPA target: positive and at least 0.001.
func CheckTarget(v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || math.Round(v*1000) < 1 || v*1000 > math.MaxInt64/2 {
		return fmt.Errorf("target %v is not a positive number of at least 0.001", v)
	}
	return nil
}

// Build returns the HPA the ScaledObject should own: minReplicas max(min,1),
// maxReplicas, spec.advanced.horizontalPodAutoscalerConfig.behavior passed through,
// one External metric per trigger (its Key.Name and Rule) selected by the object's label, and a controller
// owner reference to the ScaledObject (so garbage collection also removes it).
func Build(so *v1alpha1.ScaledObject, target Target, metrics []trigger.Metric) *autoscalingv2.HorizontalPodAutoscaler {
	minR := max(so.Spec.MinReplicas(), 1)
	maxR := max(so.Spec.MaxReplicas(), minR)
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta: metav1.TypeMeta{APIVersion: "autoscaling/v2", Kind: "HorizontalPodAutoscaler"},
		ObjectMeta: metav1.ObjectMeta{
			Name:      so.HPAName(),
			Namespace: so.Namespace,
			Labels: map[string]string{
				LabelManagedBy:    ManagedBy,
				LabelScaledObject: SelectorValue(so.Name),
			},
			OwnerReferences: []metav1.OwnerReference{OwnerRef(so)},
		},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{
				APIVersion: target.APIVersion, Kind: target.Kind, Name: target.Name,
			},
			MinReplicas: &minR,
			MaxReplicas: maxR,
		},
	}
	if a := so.Spec.Advanced; a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Behavior != nil {
		h.Spec.Behavior = a.HorizontalPodAutoscalerConfig.Behavior.DeepCopy()
	}
	defer func() { h.Annotations = map[string]string{AnnotationSpecHash: specHash(&h.Spec)} }()
	sel := &metav1.LabelSelector{MatchLabels: Labels(so.Name)}
	for _, m := range metrics {
		t := autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: Quantity(m.Rule.Target)}
		if !m.Rule.AverageValue() {
			t = autoscalingv2.MetricTarget{Type: autoscalingv2.ValueMetricType, Value: Quantity(m.Rule.Target)}
		}
		h.Spec.Metrics = append(h.Spec.Metrics, autoscalingv2.MetricSpec{
			Type: autoscalingv2.ExternalMetricSourceType,
			External: &autoscalingv2.ExternalMetricSource{
				Metric: autoscalingv2.MetricIdentifier{Name: m.Key.Name, Selector: sel.DeepCopy()},
				Target: t,
			},
		})
	}
	return h
}

// OwnerRef is the controller owner reference to so.
func OwnerRef(so *v1alpha1.ScaledObject) metav1.OwnerReference {
	yes := true
	return metav1.OwnerReference{
		APIVersion: v1alpha1.GroupVersion.String(), Kind: "ScaledObject",
		Name: so.Name, UID: so.UID, Controller: &yes, BlockOwnerDeletion: &yes,
	}
}

// IsOwnedBy reports whether h's controller owner is so.
func IsOwnedBy(h *autoscalingv2.HorizontalPodAutoscaler, so *v1alpha1.ScaledObject) bool {
	ref := metav1.GetControllerOfNoCopy(h)
	return ref != nil && ref.UID == so.UID && ref.Kind == "ScaledObject"
}

// AnnotationSpecHash records the hash of the spec surge-scaler last wrote. The API
// server defaults parts of spec.behavior, so a stored spec never equals the desired
// one field for field; the hash says whether the desired spec changed.
const AnnotationSpecHash = "surge.dev/hpa-spec-hash"

func specHash(s *autoscalingv2.HorizontalPodAutoscalerSpec) string {
	b, _ := json.Marshal(s) // a struct of plain fields always marshals
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Apply copies what surge-scaler manages from desired (from Build) onto a copy of
// existing and reports whether anything changed; the caller updates only then. The
// spec is rewritten when the desired spec's hash changed or when someone else changed
// the fields the server never defaults (target, replica bounds, metrics).
func Apply(existing, desired *autoscalingv2.HorizontalPodAutoscaler) (*autoscalingv2.HorizontalPodAutoscaler, bool) {
	out := existing.DeepCopy()
	changed := false
	want := desired.Annotations[AnnotationSpecHash]
	if out.Annotations[AnnotationSpecHash] != want || drifted(&out.Spec, &desired.Spec) {
		out.Spec = *desired.Spec.DeepCopy()
		if out.Annotations == nil {
			out.Annotations = map[string]string{}
		}
		out.Annotations[AnnotationSpecHash] = want
		changed = true
	}
	for k, v := range desired.Labels {
		if out.Labels[k] != v {
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			out.Labels[k] = v
			changed = true
		}
	}
	if !equality.Semantic.DeepEqual(out.OwnerReferences, desired.OwnerReferences) {
		out.OwnerReferences = desired.OwnerReferences
		changed = true
	}
	return out, changed
}

func drifted(live, want *autoscalingv2.HorizontalPodAutoscalerSpec) bool {
	return live.ScaleTargetRef != want.ScaleTargetRef ||
		!equality.Semantic.DeepEqual(live.MinReplicas, want.MinReplicas) ||
		live.MaxReplicas != want.MaxReplicas ||
		!equality.Semantic.DeepEqual(live.Metrics, want.Metrics) ||
		(live.Behavior == nil) != (want.Behavior == nil)
}
