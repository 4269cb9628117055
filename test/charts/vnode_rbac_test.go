package charts_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/test/harness"
)

// TestVnodeRBACRunsPods applies the vnode chart's ServiceAccount and RBAC, runs the
// real surge-vnode (fake backend) as that ServiceAccount (impersonated), and checks
// it registers its node, runs a pod that tolerates its taint (env from a Secret)
// and completes the pod's deletion: the chart's RBAC is enough for the code.
func TestVnodeRBACRunsPods(t *testing.T) {
	harness.Integration(t)
	if cluster == nil {
		t.Fatal("no control plane (TestMain did not start one)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const node = "vnode-chart"
	r := mustRender(t, "surge-vnode", "backend: local\nnodeName: "+node)
	admin, err := newClients(cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{testNamespace, appNS} {
		if _, err := admin.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	ap := newApplier(t, cluster.Config)
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		for _, o := range r.find(kind, "") {
			if err := ap.apply(ctx, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := admin.kube.CoreV1().Secrets(appNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "vnode-env"},
		StringData: map[string]string{"queue": "orders"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}

	dir := t.TempDir()
	bin, err := harness.GoBuild(ctx, dir, "./cmd/surge-vnode")
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := harness.ServiceAccountUser(testNamespace, "surge-surge-vnode")
	mp, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	hp, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := cluster.StartAsServiceAccount(dir, testNamespace, "surge-surge-vnode", nil, bin,
		"--nodename", node, "--backend", "fake",
		"--kubelet-port", "0", "--kubelet-anonymous-auth", "--sync-interval", "250ms",
		"--metrics-bind-address", fmt.Sprintf("127.0.0.1:%d", mp), "--health-bind-address", fmt.Sprintf("127.0.0.1:%d", hp), "-v", "2")
	if err != nil {
		t.Fatal(err)
	}
	logPath := p.LogPath
	defer func() {
		_ = p.Stop(10 * time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("surge-vnode log:\n%s", b)
		}
	}()

	poll := func(what string, timeout time.Duration, cond func(ctx context.Context) (bool, error)) {
		t.Helper()
		if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, cond); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	poll("node registered and Ready", time.Minute, func(ctx context.Context) (bool, error) {
		n, err := admin.kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "burst", Namespace: appNS},
		Spec: corev1.PodSpec{
			NodeSelector: map[string]string{corev1.LabelHostname: node},
			Tolerations:  []corev1.Toleration{{Key: "virtual-kubelet.io/provider", Operator: corev1.TolerationOpEqual, Value: "fake", Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "worker", Image: "example.invalid/worker:1",
				Env: []corev1.EnvVar{{Name: "QUEUE", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: "vnode-env"}, Key: "queue"}}}}}},
			TerminationGracePeriodSeconds: ptr.To[int64](1),
		},
	}
	if _, err := admin.kube.CoreV1().Pods(appNS).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var phase corev1.PodPhase
	poll("pod Running on the virtual node", time.Minute, func(ctx context.Context) (bool, error) {
		p, err := admin.kube.CoreV1().Pods(appNS).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		phase = p.Status.Phase
		if phase == corev1.PodFailed {
			return false, fmt.Errorf("pod failed: %s %s", p.Status.Reason, p.Status.Message)
		}
		return phase == corev1.PodRunning, nil
	})
	if err := admin.kube.CoreV1().Pods(appNS).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	poll("pod deletion completed by the node", time.Minute, func(ctx context.Context) (bool, error) {
		_, err := admin.kube.CoreV1().Pods(appNS).Get(ctx, pod.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	b, _ := os.ReadFile(logPath)
	if n := countForbidden(b); n > 0 {
		t.Errorf("surge-vnode logged %d forbidden responses as %s; log:\n%s", n, sa, b)
	}
}

// countForbidden counts RBAC denials in a log.
func countForbidden(log []byte) int {
	n := 0
	for i := 0; i+9 <= len(log); i++ {
		if string(log[i:i+9]) == "forbidden" {
			n++
		}
	}
	return n
}
