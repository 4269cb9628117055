package charts_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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
	root := func() string { _, f, _, _ := runtime.Caller(0); return filepath.Join(filepath.Dir(f), "..", "..") }()
	// $SURGE_SCALER_BIN names a prebuilt binary; else cmd/surge-scaler is built.
	bin := os.Getenv("SURGE_SCALER_BIN")
	if bin == "" {
		bin = filepath.Join(dir, "surge-scaler")
		build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/surge-scaler")
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build cmd/surge-scaler: %v\n%s", err, out)
		}
	}
	sec := in.r.one(t, "Secret", "surge-surge-scaler-metrics-api-tls")
	for _, k := range []string{"tls.crt", "tls.key"} {
		b, _ := base64.StdEncoding.DecodeString(nested(t, sec.Object, "data", k).(string))
		if err := os.WriteFile(filepath.Join(dir, k), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := filepath.Join(dir, "sa.kubeconfig")
	if err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"c": {Server: cluster.Info.Server, CertificateAuthority: cluster.Info.CACert}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"sa": {ClientCertificate: cluster.Info.AdminCert, ClientKey: cluster.Info.AdminKey, Impersonate: scalerSA, ImpersonateGroups: in.saCfg.Impersonate.Groups}},
		Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "sa"}},
		CurrentContext: "c",
	}, kubeconfig); err != nil {
		t.Fatal(err)
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
	args := []string{"--kubeconfig", kubeconfig, "--leader-elect=true", "--leader-election-namespace=" + testNamespace,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", mp), fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", hp),
		"--cluster-object-namespace=" + testNamespace, "--metrics-api=true",
		fmt.Sprintf("--secure-port=%d", in.metricsPort), "--bind-address=127.0.0.1",
		"--tls-cert-file=" + filepath.Join(dir, "tls.crt"), "--tls-private-key-file=" + filepath.Join(dir, "tls.key"),
		"--metrics-api-service-name=surge-surge-scaler-metrics-api", "--metrics-api-service-namespace=" + testNamespace,
		"--fake-trigger-dir=" + fakeDir, "--v=2"}
	logPath := filepath.Join(dir, "surge-scaler.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			if len(b) > 16000 {
				b = append(b[:16000], "\n[... cut]"...)
			}
			t.Logf("surge-scaler log:\n%s", b)
		}
	}()

	healthz := fmt.Sprintf("http://127.0.0.1:%d/healthz", hp)
	if err := wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(healthz)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	}); err != nil {
		// Ask the Go runtime for its goroutine dump (SIGQUIT) so the log says where
		// it is stuck; the deferred stop prints the log.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		time.Sleep(2 * time.Second)
		t.Fatalf("surge-scaler not healthy on %s within 60 s: %v (its goroutine dump is in the log below)", healthz, err)
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
