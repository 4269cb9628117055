package charts_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/surge-autoscaler/surge/test/harness"
)

// TestScalerBinaryAsServiceAccount runs the real surge-scaler (leader election and
// metrics API on, the chart's serving certificate) as the chart's ServiceAccount
// (impersonated) and checks a ScaledObject with a fake trigger reconciles: Ready,
// HPA created, target scaled 0 -> 1, the metric served through the aggregator, and
// deleting the ScaledObject removes its HPA. Any RBAC denial in its log fails it.
func TestScalerBinaryAsServiceAccount(t *testing.T) {
	in := installScaler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin, err := harness.Binary(ctx, dir, "./cmd/surge-scaler") // $SURGE_SCALER_BIN or built
	if err != nil {
		t.Fatal(err)
	}
	sec := in.r.one(t, "Secret", "surge-surge-scaler-metrics-api-tls")
	for _, k := range []string{"tls.crt", "tls.key"} {
		b, _ := base64.StdEncoding.DecodeString(nested(t, sec.Object, "data", k).(string))
		if err := os.WriteFile(filepath.Join(dir, k), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fakeDir := filepath.Join(dir, "fake")
	if err := os.MkdirAll(fakeDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fakeDir, "queue"), []byte("12"), 0o644); err != nil {
		t.Fatal(err)
	}
	mp, _ := harness.FreePort()
	hp, _ := harness.FreePort()
	// The chart's Deployment arguments, with local paths and ports.
	args := []string{"--leader-elect=true", "--leader-election-namespace=" + testNamespace,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", mp), fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", hp),
		"--cluster-object-namespace=" + testNamespace, "--metrics-api=true",
		fmt.Sprintf("--secure-port=%d", in.metricsPort), "--bind-address=127.0.0.1",
		"--tls-cert-file=" + filepath.Join(dir, "tls.crt"), "--tls-private-key-file=" + filepath.Join(dir, "tls.key"),
		"--metrics-api-service-name=surge-surge-scaler-metrics-api", "--metrics-api-service-namespace=" + testNamespace,
		"--fake-trigger-dir=" + fakeDir, "--v=2"}
	p, err := cluster.StartAsServiceAccount(dir, testNamespace, "surge-surge-scaler", nil, bin, args...)
	if err != nil {
		t.Fatal(err)
	}
	logPath := p.LogPath
	defer func() {
		_ = p.Stop(15 * time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 16000 {
				b = append(b[:16000], "\n[... cut]"...)
			}
			t.Logf("surge-scaler log:\n%s", b)
		}
	}()

	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", hp)
	if err := p.WaitHTTP(ctx, healthz); err != nil {
		// Ask the Go runtime for its goroutine dump (SIGQUIT) so the log says where
		// it is stuck; the deferred stop prints the log.
		_ = p.Cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(2 * time.Second)
		t.Fatalf("surge-scaler not healthy: %v (its goroutine dump is in the log below)", err)
	}

	// A target and a ScaledObject with a fake trigger.
	d := targetDeployment()
	d.Name = "fakework"
	if _, err := in.admin.kube.AppsV1().Deployments(appNS).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	so := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "surge.dev/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": "fakeso", "namespace": appNS},
		"spec": map[string]any{
			"scaleTargetRef": map[string]any{"name": "fakework"}, "pollingInterval": int64(1), "cooldownPeriod": int64(5),
			"triggers": []any{map[string]any{"type": "fake", "name": "queue", "metadata": map[string]any{"name": "queue", "target": "5"}}},
		},
	}}
	if err := in.ap.apply(ctx, so); err != nil {
		t.Fatal(err)
	}
	poll := func(what string, cond func(ctx context.Context) (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 90*time.Second, true, cond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll("ScaledObject Ready", func(ctx context.Context) (bool, error) {
		u, err := in.admin.dyn.Resource(soGVR).Namespace(appNS).Get(ctx, "fakeso", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			m := c.(map[string]any)
			if m["type"] == "Ready" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	poll("target scaled from 0", func(ctx context.Context) (bool, error) {
		s, err := in.admin.kube.AppsV1().Deployments(appNS).GetScale(ctx, "fakework", metav1.GetOptions{})
		return err == nil && s.Spec.Replicas >= 1, nil
	})
	var metric string
	poll("HPA created with an External metric", func(ctx context.Context) (bool, error) {
		hpas, err := in.admin.kube.AutoscalingV2().HorizontalPodAutoscalers(appNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, h := range hpas.Items {
			if h.Spec.ScaleTargetRef.Name == "fakework" && len(h.Spec.Metrics) == 1 && h.Spec.Metrics[0].External != nil {
				metric = h.Spec.Metrics[0].External.Metric.Name
				return true, nil
			}
		}
		return false, nil
	})
	poll("metric served through the aggregator", func(ctx context.Context) (bool, error) {
		raw, err := in.admin.kube.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces", appNS, metric).DoRaw(ctx)
		return err == nil && strings.Contains(string(raw), `"value":"12"`), nil
	})
	if err := in.admin.dyn.Resource(soGVR).Namespace(appNS).Delete(ctx, "fakeso", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("ScaledObject and its HPA deleted", func(ctx context.Context) (bool, error) {
		_, err := in.admin.dyn.Resource(soGVR).Namespace(appNS).Get(ctx, "fakeso", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			return false, nil
		}
		hpas, err := in.admin.kube.AutoscalingV2().HorizontalPodAutoscalers(appNS).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err
		}
		for _, h := range hpas.Items {
			if h.Spec.ScaleTargetRef.Name == "fakework" {
				return false, nil
			}
		}
		return true, nil
	})
	b, _ := os.ReadFile(logPath)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "forbidden") {
			t.Errorf("RBAC denial in surge-scaler's log: %s", line)
		}
	}
}
