package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCacheTransform(t *testing.T) {
	replicas := int32(3)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Annotations: map[string]string{lastApplied: "{...}", "keep": "me"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}}}}},
		Status: appsv1.DeploymentStatus{Replicas: 3, ReadyReplicas: 2},
	}
	out, err := CacheTransform(d)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*appsv1.Deployment)
	if got.ManagedFields != nil || got.Annotations[lastApplied] != "" || got.Annotations["keep"] != "me" ||
		got.Status.Replicas != 0 || *got.Spec.Replicas != 3 || got.Spec.Template.Spec.Containers[0].Env[0].Value != "b" {
		t.Fatalf("transform kept or dropped the wrong things: %+v", got)
	}
	h := &autoscalingv2.HorizontalPodAutoscaler{Spec: autoscalingv2.HorizontalPodAutoscalerSpec{MaxReplicas: 5},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{DesiredReplicas: 4}}
	out, _ = CacheTransform(h)
	if hh := out.(*autoscalingv2.HorizontalPodAutoscaler); hh.Status.DesiredReplicas != 0 || hh.Spec.MaxReplicas != 5 {
		t.Fatalf("hpa: %+v", hh)
	}
	if _, err := CacheTransform("not an object"); err != nil {
		t.Fatal(err)
	}
}
