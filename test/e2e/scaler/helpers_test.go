package scalere2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

func ptr[T any](v T) *T { return &v }

func deployment(ns, name string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "worker", Image: "example.invalid/worker:1",
					Env: []corev1.EnvVar{{Name: "QUEUE", Value: name}},
				}}},
			},
		},
	}
}

// scaledObject is a ScaledObject on a Deployment with one fake trigger named fakeName.
func scaledObject(ns, name, target, fakeName string) *v1alpha1.ScaledObject {
	return &v1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &v1alpha1.ScaleTarget{Name: target},
			PollingInterval: ptr(int32(1)),
			CooldownPeriod:  ptr(int32(3)),
			MaxReplicaCount: ptr(int32(10)),
			Triggers: []v1alpha1.ScaleTriggers{{
				Type: "fake", Name: "load",
				Metadata: map[string]string{"name": fakeName, "target": "5", "activationTarget": "0"},
			}},
		},
	}
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func replicas(t *testing.T, ns, name string) int32 {
	t.Helper()
	var d appsv1.Deployment
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, &d); err != nil {
		t.Fatalf("get deployment %s: %v", name, err)
	}
	return *d.Spec.Replicas
}

// waitReplicas waits until a Deployment has want replicas and returns how long
// that took.
func waitReplicas(t *testing.T, ns, name string, want int32) time.Duration {
	t.Helper()
	return harness.Eventually(t, fmt.Sprintf("deployment %s at %d replicas", name, want), func() string {
		if got := replicas(t, ns, name); got != want {
			return fmt.Sprintf("has %d", got)
		}
		return ""
	})
}

func getSO(t *testing.T, ns, name string) *v1alpha1.ScaledObject {
	t.Helper()
	so := &v1alpha1.ScaledObject{}
	if err := env.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, so); err != nil {
		t.Fatalf("get scaledobject %s: %v", name, err)
	}
	return so
}

func cond(so *v1alpha1.ScaledObject, typ string) *metav1.Condition {
	return meta.FindStatusCondition(so.Status.Conditions, typ)
}

func waitCondition(t *testing.T, ns, name, typ string, status metav1.ConditionStatus) *v1alpha1.ScaledObject {
	t.Helper()
	var so *v1alpha1.ScaledObject
	harness.Eventually(t, fmt.Sprintf("%s %s=%s", name, typ, status), func() string {
		so = getSO(t, ns, name)
		c := cond(so, typ)
		if c == nil || c.Status != status {
			return fmt.Sprintf("conditions %v", so.Status.Conditions)
		}
		return ""
	})
	return so
}

func getHPA(ns, name string) (*autoscalingv2.HorizontalPodAutoscaler, error) {
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	err := env.c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, h)
	return h, err
}

// events lists the events regarding a ScaledObject.
func events(t *testing.T, ns, name string) []corev1.Event {
	t.Helper()
	var list corev1.EventList
	if err := env.c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []corev1.Event
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "ScaledObject" && e.InvolvedObject.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func hasEvent(t *testing.T, ns, name, typ, reason string) bool {
	for _, e := range events(t, ns, name) {
		if e.Type == typ && (reason == "" || e.Reason == reason) {
			return true
		}
	}
	return false
}

func eventSummary(t *testing.T, ns, name string) string {
	var b strings.Builder
	for _, e := range events(t, ns, name) {
		fmt.Fprintf(&b, "[%s %s %s] ", e.Type, e.Reason, e.Message)
	}
	return b.String()
}

// registerMetricsAPI points v1beta1.external.metrics.k8s.io at the in-process
// metrics API through an ExternalName Service to localhost (notes/controlplane.md).
func registerMetricsAPI(ctx context.Context, srv *metricsapi.Server) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: nsSystem, Name: metricsapi.DefaultServiceName},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(srv.Port()), TargetPort: intstr.FromInt(srv.Port())}}},
	}
	if err := env.c.Create(ctx, svc); err != nil {
		return fmt.Errorf("create service: %w", err)
	}
	apiSvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1beta1.external.metrics.k8s.io"},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1",
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"caBundle": base64.StdEncoding.EncodeToString(srv.CABundle()),
			"service":  map[string]any{"namespace": nsSystem, "name": metricsapi.DefaultServiceName, "port": int64(srv.Port())},
		},
	}}
	if err := env.c.Create(ctx, apiSvc); err != nil {
		return fmt.Errorf("create apiservice: %w", err)
	}
	return env.cluster.WaitAPIServiceAvailable(ctx, "v1beta1.external.metrics.k8s.io")
}

func isNotFound(err error) bool { return apierrors.IsNotFound(err) }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func unstructuredFrom(m map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: m}
}

// waitEvent waits for an event of type and reason on a ScaledObject (events are
// sent asynchronously).
func waitEvent(t *testing.T, ns, name, typ, reason string) {
	t.Helper()
	harness.Eventually(t, "a "+typ+" "+reason+" event", func() string {
		if !hasEvent(t, ns, name, typ, reason) {
			return eventSummary(t, ns, name)
		}
		return ""
	})
}

// waitStableReplicas waits until a Deployment has had want replicas for hold.
func waitStableReplicas(t *testing.T, ns, name string, want int32, hold time.Duration) {
	t.Helper()
	var since time.Time
	harness.Eventually(t, fmt.Sprintf("deployment %s steady at %d replicas", name, want), func() string {
		if got := replicas(t, ns, name); got != want {
			since = time.Time{}
			return fmt.Sprintf("has %d", got)
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) < hold {
			return "not steady yet"
		}
		return ""
	})
}
