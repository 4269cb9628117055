package metricsapie2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/scaler/trigger"
	"github.com/surge-autoscaler/surge/test/harness"
)

// TestHPAFollowsTheSource drives a Deployment through the real HPA controller
// (autoscaling/v2, External metric, AverageValue 10, 1 s sync) from values the fake
// source serves through surge's metrics API: up, down, hold on a failing measurement,
// fallback replicas once failureThreshold is reached, and back.
func TestHPAFollowsTheSource(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const ns, app, metric = "e2e-hpa", "worker", "s0-rabbitmq-orders"
	kc := cluster.Client
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := trigger.Key{Namespace: ns, Name: metric}
	labels := map[string]string{"scaledobject.surge.dev/name": app}
	set := func(v float64) {
		// useCachedMetrics false: every HPA query reads through Refresh, which the
		// fake stamps with now, as a store that measured again would.
		src.Set(key, trigger.Reading{
			Metric: trigger.Metric{PollingInterval: time.Second, Labels: labels},
			Sample: trigger.Sample{Value: v, Time: time.Now()},
		})
	}
	set(0)
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "w", Image: "example.invalid/worker:1"}}},
			},
		},
	}
	if _, err := kc.AppsV1().Deployments(ns).Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hpa := &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "surge-" + app, Namespace: ns},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: app},
			MinReplicas:    ptr.To[int32](1),
			MaxReplicas:    20,
			Metrics: []autoscalingv2.MetricSpec{{
				Type: autoscalingv2.ExternalMetricSourceType,
				External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: metric, Selector: &metav1.LabelSelector{MatchLabels: labels}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(10, resource.DecimalSI)},
				},
			}},
			// Scale as fast as the sync period allows, both ways.
			Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{
				ScaleUp:   fastRules(),
				ScaleDown: fastRules(),
			},
		},
	}
	if _, err := kc.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, hpa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	replicas := func(ctx context.Context) (int32, error) {
		d, err := kc.AppsV1().Deployments(ns).Get(ctx, app, metav1.GetOptions{})
		if err != nil {
			return 0, err
		}
		return ptr.Deref(d.Spec.Replicas, 0), nil
	}
	waitReplicas := func(step string, want int32) time.Duration {
		t.Helper()
		start := time.Now()
		var got int32
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			got, lastErr = replicas(ctx)
			return lastErr == nil && got == want, nil
		})
		if err != nil {
			h, herr := kc.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(context.Background(), hpa.Name, metav1.GetOptions{})
			t.Fatalf("%s: Deployment at %d replicas (last error %v), want %d: %v\nHPA status: %+v (%v)",
				step, got, lastErr, want, err, hpaStatus(h), herr)
		}
		took := time.Since(start)
		t.Logf("%s: value served -> Deployment spec.replicas %d in %s (HPA sync 1s)", step, want, took.Round(time.Millisecond))
		return took
	}

	var reactions []time.Duration
	for _, step := range []struct {
		value float64
		want  int32
	}{{50, 5}, {120, 12}, {20, 2}, {155, 16}} {
		set(step.value)
		reactions = append(reactions, waitReplicas(fmt.Sprintf("value %v", step.value), step.want))
	}

	// A failing measurement below the fallback threshold: the HPA cannot get the
	// metric and holds 16.
	fb := &trigger.Fallback{FailureThreshold: 3, Replicas: 6}
	src.Set(key, trigger.Reading{
		Metric: trigger.Metric{PollingInterval: time.Second, Labels: labels, Fallback: fb, Rule: trigger.Rule{Target: 10}},
		Sample: trigger.Sample{Value: 155, Time: time.Now(), Err: errors.New("dial " + secret), ConsecutiveFailures: 1},
	})
	cond := waitCondition(ctx, t, ns, hpa.Name, autoscalingv2.ScalingActive, corev1.ConditionFalse, "FailedGetExternalMetric")
	if strings.Contains(cond.Message, "hunter2") || strings.Contains(cond.Message, "broker.internal") {
		t.Fatalf("HPA condition shows the broker URL: %s", cond.Message)
	}
	time.Sleep(3 * time.Second) // three more syncs
	if got, err := replicas(ctx); err != nil || got != 16 {
		t.Fatalf("HPA did not hold during failures: %d replicas (%v), want 16", got, err)
	}
	// failureThreshold reached: the served value is 6 x 10, so the HPA goes to 6.
	src.Update(key, func(s *trigger.Reading) { s.ConsecutiveFailures = 3 })
	reactions = append(reactions, waitReplicas("fallback", 6))
	// Recovery: measurements succeed again.
	set(30)
	reactions = append(reactions, waitReplicas("recovered value 30", 3))
	t.Logf("HPA reaction times (value served -> spec.replicas changed, HPA sync 1s): %v", reactions)
}

func hpaStatus(h *autoscalingv2.HorizontalPodAutoscaler) string {
	if h == nil {
		return "<none>"
	}
	out := fmt.Sprintf("current %d desired %d metrics %+v", h.Status.CurrentReplicas, h.Status.DesiredReplicas, h.Status.CurrentMetrics)
	for _, c := range h.Status.Conditions {
		out += fmt.Sprintf("; %s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return out
}

// fastRules lets the HPA move to any count at each sync. The policy is in pods, not
// percent: a percent limit is taken from the count one period ago, so a step that
// follows the previous one within a second (1 → 5 → 12) was capped at 11, which the
// HPA's 10 % tolerance then held forever (120 / 11 is within 10 % of the target 10).
func fastRules() *autoscalingv2.HPAScalingRules {
	return &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 100, PeriodSeconds: 1}},
	}
}

func waitCondition(ctx context.Context, t *testing.T, ns, name string, typ autoscalingv2.HorizontalPodAutoscalerConditionType, status corev1.ConditionStatus, reason string) autoscalingv2.HorizontalPodAutoscalerCondition {
	t.Helper()
	var last autoscalingv2.HorizontalPodAutoscalerCondition
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		h, err := cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range h.Status.Conditions {
			if c.Type == typ {
				last = c
				return c.Status == status && c.Reason == reason, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("HPA condition %s: last %+v, want status %s reason %s", typ, last, status, reason)
	}
	t.Logf("HPA condition %s=%s reason %s: %s", typ, last.Status, last.Reason, last.Message)
	return last
}
