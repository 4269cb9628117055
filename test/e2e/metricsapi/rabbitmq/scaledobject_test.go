package rabbitmqe2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

const (
	appNS    = "e2e-orders"
	queue    = "orders"
	messages = 150
)

// TestRabbitMQBurstScalesThroughTheMetricsAPI: a ScaledObject with a rabbitmq
// trigger (value 10, burstStart off) on an idle worker Deployment; 150 messages make
// surge-scaler activate the target 0->1, then the real HPA, reading the queue depth
// through the aggregator from surge-scaler's metrics API, scales it to 15; draining
// the queue brings it back to 1 (HPA) and 0 (scaler, after cooldown).
func TestRabbitMQBurstScalesThroughTheMetricsAPI(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("surge-scaler log:\n%s", tail(scaler.log(), 12000))
		}
	})
	kc := cluster.Client
	ap, err := newApplier(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kc.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The broker URL (with its password) lives in a Secret, read through a
	// TriggerAuthentication, as a KEDA user would write it.
	if _, err := kc.CoreV1().Secrets(appNS).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "rabbitmq"}, StringData: map[string]string{"host": rmq.AMQPURL},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	must(t, ap.create(ctx, toUnstructured(t, &v1alpha1.TriggerAuthentication{
		TypeMeta:   metav1.TypeMeta{APIVersion: "surge.dev/v1alpha1", Kind: "TriggerAuthentication"},
		ObjectMeta: metav1.ObjectMeta{Name: "rabbitmq-auth", Namespace: appNS},
		Spec: v1alpha1.TriggerAuthenticationSpec{SecretTargetRef: []v1alpha1.AuthSecretTargetRef{
			{Parameter: "host", Name: "rabbitmq", Key: "host"},
		}},
	})))
	declareQueue(t)
	if _, err := kc.AppsV1().Deployments(appNS).Create(ctx, worker(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fast := &autoscalingv2.HPAScalingRules{
		StabilizationWindowSeconds: ptr.To[int32](0),
		Policies:                   []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 1000, PeriodSeconds: 1}},
	}
	must(t, ap.create(ctx, toUnstructured(t, &v1alpha1.ScaledObject{
		TypeMeta:   metav1.TypeMeta{APIVersion: "surge.dev/v1alpha1", Kind: "ScaledObject"},
		ObjectMeta: metav1.ObjectMeta{Name: "orders", Namespace: appNS},
		Spec: v1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &v1alpha1.ScaleTarget{Name: "worker"},
			PollingInterval: ptr.To[int32](1),
			CooldownPeriod:  ptr.To[int32](10),
			MinReplicaCount: ptr.To[int32](0),
			MaxReplicaCount: ptr.To[int32](30),
			Advanced: &v1alpha1.AdvancedConfig{HorizontalPodAutoscalerConfig: &v1alpha1.HorizontalPodAutoscalerConfig{
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: fast, ScaleDown: fast},
			}},
			Triggers: []v1alpha1.ScaleTriggers{{
				Type: "rabbitmq", Name: "orders",
				Metadata:          map[string]string{"queueName": queue, "mode": "QueueLength", "value": "10", "protocol": "amqp"},
				AuthenticationRef: &v1alpha1.AuthenticationRef{Name: "rabbitmq-auth"},
			}},
		},
	})))

	hpa := waitHPA(ctx, t)
	metric := hpa.Spec.Metrics[0].External.Metric.Name
	t.Logf("HPA %s reads External metric %q (selector %v)", hpa.Name, metric, hpa.Spec.Metrics[0].External.Metric.Selector.MatchLabels)
	if got := replicas(ctx, t); got != 0 {
		t.Fatalf("idle target at %d replicas, want 0", got)
	}

	obs := newReplicaWatch(ctx, t)
	published := publish(t, messages)
	tAct := obs.waitFor(t, "0->1 by surge-scaler", func(r int32) bool { return r >= 1 })
	if first := obs.firstNonZero(); first != 1 {
		t.Errorf("first replica count after 0 was %d, want 1 (burstStart off: the scaler activates to 1, the HPA does the rest)", first)
	}
	tHPA := obs.waitFor(t, "HPA to 15", func(r int32) bool { return r == 15 })
	raw := getRaw(ctx, t, metric)
	if !strings.Contains(raw, `"value":"150"`) {
		t.Errorf("get --raw of %s: %s, want the current depth 150", metric, raw)
	}
	t.Logf("published %d messages at %s; 0->1 after %s; HPA at 15 after %s (HPA sync 1s, pollingInterval 1s)",
		messages, published.Format(time.RFC3339Nano), tAct.Sub(published).Round(time.Millisecond), tHPA.Sub(published).Round(time.Millisecond))

	drained := drain(t, messages)
	tOne := obs.waitFor(t, "HPA back to 1", func(r int32) bool { return r == 1 })
	tZero := obs.waitFor(t, "scaler back to 0 after cooldown", func(r int32) bool { return r == 0 })
	t.Logf("drained at %s; at 1 after %s; at 0 after %s (cooldownPeriod 10s)",
		drained.Format(time.RFC3339Nano), tOne.Sub(drained).Round(time.Millisecond), tZero.Sub(drained).Round(time.Millisecond))
	// Cooldown runs from the scaler's last poll that saw the queue active, which can
	// precede the moment this test saw it drained by up to one pollingInterval (1 s).
	if d := tZero.Sub(drained); d < 10*time.Second-time.Second {
		t.Errorf("scaled to 0 %s after the drain, before cooldownPeriod 10s minus one pollingInterval", d)
	}

	for _, leak := range []string{rmq.Password, rmq.AMQPURL} {
		if strings.Contains(scaler.log(), leak) {
			t.Errorf("surge-scaler log contains the broker credentials")
		}
		if strings.Contains(raw, leak) {
			t.Errorf("metrics API response contains the broker credentials")
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func toUnstructured(t *testing.T, obj runtime.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}

func worker() *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "worker", Namespace: appNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "worker"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "worker"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "w", Image: "example.invalid/worker:1"}}},
			},
		},
	}
}

func replicas(ctx context.Context, t *testing.T) int32 {
	t.Helper()
	s, err := cluster.Client.AppsV1().Deployments(appNS).GetScale(ctx, "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s.Spec.Replicas
}

// waitHPA waits for the ScaledObject's HPA with one External metric.
func waitHPA(ctx context.Context, t *testing.T) *autoscalingv2.HorizontalPodAutoscaler {
	t.Helper()
	var hpa *autoscalingv2.HorizontalPodAutoscaler
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := cluster.Client.AutoscalingV2().HorizontalPodAutoscalers(appNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for i := range list.Items {
			h := &list.Items[i]
			if h.Spec.ScaleTargetRef.Name == "worker" && len(h.Spec.Metrics) == 1 && h.Spec.Metrics[0].External != nil {
				hpa = h
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no HPA with an External metric for the worker: %v", err)
	}
	return hpa
}

// getRaw is `kubectl get --raw` of metric (kubectl if installed, else the same GET
// through client-go).
func getRaw(ctx context.Context, t *testing.T, metric string) string {
	t.Helper()
	path := "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + appNS + "/" + metric
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		out, err := exec.CommandContext(ctx, kubectl, "--kubeconfig", cluster.Kubeconfig, "get", "--raw", path).Output()
		if err != nil {
			t.Fatalf("kubectl get --raw %s: %v", path, err)
		}
		return string(out)
	}
	b, err := cluster.Client.CoreV1().RESTClient().Get().AbsPath(path).DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return string(b)
}

// replicaWatch samples the target's spec.replicas every 20 ms and records when each
// value was first seen, so the test can tell who moved it first.
type replicaWatch struct {
	ctx  context.Context
	seen []sample
}

type sample struct {
	at       time.Time
	replicas int32
}

func newReplicaWatch(ctx context.Context, t *testing.T) *replicaWatch {
	return &replicaWatch{ctx: ctx, seen: []sample{{time.Now(), replicas(ctx, t)}}}
}

// waitFor polls until cond holds (up to 3 minutes) and returns when it first did.
func (w *replicaWatch) waitFor(t *testing.T, what string, cond func(int32) bool) time.Time {
	t.Helper()
	var at time.Time
	err := wait.PollUntilContextTimeout(w.ctx, 20*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		r := replicas(ctx, t)
		if last := w.seen[len(w.seen)-1]; last.replicas != r {
			w.seen = append(w.seen, sample{time.Now(), r})
		}
		if cond(r) {
			at = time.Now()
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("%s: %v (replicas seen: %s)", what, err, w)
	}
	return at
}

func (w *replicaWatch) firstNonZero() int32 {
	for _, s := range w.seen {
		if s.replicas != 0 {
			return s.replicas
		}
	}
	return 0
}

func (w *replicaWatch) String() string {
	var parts []string
	for _, s := range w.seen {
		parts = append(parts, fmt.Sprintf("%d@%s", s.replicas, s.at.Format("15:04:05.000")))
	}
	return strings.Join(parts, " ")
}

func dial(t *testing.T) (*amqp.Connection, *amqp.Channel) {
	t.Helper()
	conn, err := amqp.Dial(rmq.AMQPURL)
	if err != nil {
		t.Fatalf("dial RabbitMQ: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	return conn, ch
}

func declareQueue(t *testing.T) {
	t.Helper()
	conn, ch := dial(t)
	defer conn.Close()
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
}

// publish publishes n persistent messages with publisher confirms and returns when
// the last was confirmed.
func publish(t *testing.T, n int) time.Time {
	t.Helper()
	conn, ch := dial(t)
	defer conn.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		dc, err := ch.PublishWithDeferredConfirmWithContext(context.Background(), "", queue, false, false,
			amqp.Publishing{DeliveryMode: amqp.Persistent, Body: []byte(fmt.Sprintf(`{"n":%d}`, i))})
		if err != nil {
			t.Fatal(err)
		}
		if i == n-1 {
			if ok, err := dc.WaitContext(context.Background()); err != nil || !ok {
				t.Fatalf("publish not confirmed: %v", err)
			}
		}
	}
	return time.Now()
}

// drain consumes and acks n messages and returns when the last was acked.
func drain(t *testing.T, n int) time.Time {
	t.Helper()
	conn, ch := dial(t)
	defer conn.Close()
	for got := 0; got < n; {
		d, ok, err := ch.Get(queue, false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			t.Fatalf("queue empty after %d of %d messages", got, n)
		}
		if err := d.Ack(false); err != nil {
			t.Fatal(err)
		}
		got++
	}
	return time.Now()
}
