package smokee2e

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/test/harness"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// TestHPAScalesFromExternalMetricThroughAggregator registers a local external-metrics
// server through an ExternalName Service and an APIService, and checks that the real
// HPA controller follows the served value up and down.
func TestHPAScalesFromExternalMetricThroughAggregator(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns, svc, metric = "kube-system", "smoke-metrics", "smoke_queue_depth"
	p := &tinyProvider{name: metric}
	p.set(0)
	port := startTinyMetricsServer(ctx, t, p, svc, ns)
	registerAPIService(ctx, t, ns, svc, port)

	kc := cluster.Client
	app := "smoke-worker"
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "w", Image: "example.invalid/worker:1"}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments("default").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "default"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: app},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    20,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ExternalMetricSourceType,
				External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: metric},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)},
				},
			}},
		},
	}
	if _, err := kc.AutoscalingV2().HorizontalPodAutoscalers("default").Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		value float64
		want  int32
	}{{50, 5}, {120, 12}, {20, 2}} {
		p.set(step.value)
		start := time.Now()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			d, err := kc.AppsV1().Deployments("default").Get(ctx, app, metav1.GetOptions{})
			return err == nil && d.Spec.Replicas != nil && *d.Spec.Replicas == step.want, nil
		})
		if err != nil {
			h, _ := kc.AutoscalingV2().HorizontalPodAutoscalers("default").Get(ctx, app, metav1.GetOptions{})
			t.Fatalf("value %v: Deployment never reached %d replicas: %v; HPA status: %+v", step.value, step.want, err, h.Status)
		}
		t.Logf("value %v -> Deployment spec.replicas %d after %s (HPA sync period %s)",
			step.value, step.want, time.Since(start).Round(time.Millisecond), cluster.Info.HPASyncPeriod)
	}

	// The aggregated API answers kubectl-style raw GETs too.
	raw, err := kc.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/" + metric).DoRaw(ctx)
	if err != nil {
		t.Fatalf("raw GET through the aggregator: %v", err)
	}
	t.Logf("raw: %s", raw)
}

func registerAPIService(ctx context.Context, t *testing.T, ns, svc string, port int) {
	t.Helper()
	kc := cluster.Client
	_, err := kc.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: svc, Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port), TargetPort: intstr.FromInt32(int32(port))}},
		},
	}, metav1.CreateOptions{})
	if err := ignoreExists(err); err != nil {
		t.Fatal(err)
	}
	ca, err := cluster.CABundle()
	if err != nil {
		t.Fatal(err)
	}
	dc := dynamic.NewForConfigOrDie(cluster.Config)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": "v1beta1.external.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1",
			"service":              map[string]any{"namespace": ns, "name": svc, "port": int64(port)},
			"caBundle":             ca,
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
		},
	}}
	if _, err := dc.Resource(apiServiceGVR).Create(ctx, obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := dc.Resource(apiServiceGVR).Get(ctx, "v1beta1.external.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("APIService never became Available: %v", err)
	}
	t.Logf("APIService Available after %s", time.Since(start).Round(time.Millisecond))
}
