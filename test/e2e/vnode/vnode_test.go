package vnodee2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/test/harness"
)

// TestVirtualNodeRunsAndScales registers a local virtual node and checks, on one
// Deployment: the node's registration; that its pods are scheduled there, run as
// real processes and consume work; `kubectl logs` through the API server; scale to
// 20 and back to 0 with nothing left behind.
func TestVirtualNodeRunsAndScales(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const nodeName, app = "vnode-scale", "scale-worker"
	stateDir := t.TempDir()
	startVnode(t, nodeName, "local", stateDir)
	kc := cluster.Client

	n, err := kc.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n.Labels["type"] != "virtual-kubelet" || n.Labels["kubernetes.io/role"] != "agent" || len(n.Spec.Taints) != 1 ||
		n.Spec.Taints[0].Key != "virtual-kubelet.io/provider" || n.Spec.Taints[0].Value != "local" ||
		n.Spec.Taints[0].Effect != corev1.TaintEffectNoSchedule || n.Status.Addresses[0].Address != "127.0.0.1" ||
		n.Status.Allocatable.Pods().Value() != 110 {
		t.Fatalf("node registration: labels %v taints %v addresses %v allocatable %v", n.Labels, n.Spec.Taints, n.Status.Addresses, n.Status.Allocatable)
	}
	if _, err := kc.CoordinationV1().Leases(corev1.NamespaceNodeLease).Get(ctx, nodeName, metav1.GetOptions{}); err != nil {
		t.Fatalf("node lease: %v", err)
	}

	// A pod without the toleration is not scheduled on the virtual node.
	intolerant := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "intolerant", Namespace: "default"}, Spec: workerPodSpec("intolerant", nodeName, "local")}
	intolerant.Spec.Tolerations = nil
	if _, err := kc.CoreV1().Pods("default").Create(ctx, intolerant, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer kc.CoreV1().Pods("default").Delete(context.Background(), "intolerant", metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)})

	if _, err := kc.AppsV1().Deployments("default").Create(ctx, deployment(app, nodeName, "local", 1), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cleanupApp(t, app, true)
	start := time.Now()
	pods := waitPods(ctx, t, app, 60*time.Second, "1 Running", allRunning(1))
	t.Logf("first pod Running %v after the Deployment was created", time.Since(start).Round(time.Millisecond))
	p := pods[0]
	if p.Spec.NodeName != nodeName || p.Status.PodIP != "127.0.0.1" || len(p.Status.ContainerStatuses) != 1 || !p.Status.ContainerStatuses[0].Ready {
		t.Fatalf("pod %s: node %q ip %q statuses %+v", p.Name, p.Spec.NodeName, p.Status.PodIP, p.Status.ContainerStatuses)
	}
	if got := processesRunning("e2e-marker-" + app); len(got) != 1 {
		t.Fatalf("%d worker processes for one pod", len(got))
	}
	// The process really works: it takes items and reports them under its pod name.
	work.Add(20)
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		_, by := work.Done()
		return by[p.Name] >= 20, nil
	})
	if err != nil {
		total, by := work.Done()
		t.Fatalf("work not consumed by %s: %d done, by pod %v", p.Name, total, by)
	}
	// kubectl logs goes API server → kubelet API (TLS) → backend log file.
	logs, err := kc.CoreV1().Pods("default").GetLogs(p.Name, &corev1.PodLogOptions{Container: "worker"}).DoRaw(ctx)
	if err != nil || !strings.Contains(string(logs), "worker: started") || !strings.Contains(string(logs), "pod="+p.Name) {
		t.Fatalf("pod logs = %q, %v", logs, err)
	}
	if ip, _ := kc.CoreV1().Pods("default").Get(ctx, "intolerant", metav1.GetOptions{}); ip.Spec.NodeName != "" {
		t.Fatalf("a pod without the toleration was bound to %s", ip.Spec.NodeName)
	}

	scale(ctx, t, app, 20)
	start = time.Now()
	waitPods(ctx, t, app, 90*time.Second, "20 Running", allRunning(20))
	t.Logf("1→20 Running in %v", time.Since(start).Round(time.Millisecond))
	if got := processesRunning("e2e-marker-" + app); len(got) != 20 {
		t.Fatalf("%d worker processes for 20 pods", len(got))
	}
	scale(ctx, t, app, 0)
	start = time.Now()
	waitPods(ctx, t, app, 90*time.Second, "all gone", func(ps []corev1.Pod) bool { return len(ps) == 0 })
	t.Logf("20→0 pods gone in %v", time.Since(start).Round(time.Millisecond))
	if got := processesRunning("e2e-marker-" + app); len(got) != 0 {
		t.Fatalf("%d worker processes left after scaling to 0", len(got))
	}
	if d := instanceDirs(t, stateDir); d != 0 {
		t.Fatalf("%d instance directories left after scaling to 0", d)
	}
}

// TestKill9Readopts kills surge-vnode with SIGKILL under 20 running pods, deletes
// one pod while it is down, restarts it, and checks that the 19 others are
// re-adopted (same processes, no restarts, no duplicates) and the deleted one's
// process is stopped.
func TestKill9Readopts(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const nodeName, app = "vnode-kill", "kill-worker"
	stateDir := t.TempDir()
	v := startVnode(t, nodeName, "local", stateDir)
	kc := cluster.Client
	if _, err := kc.AppsV1().Deployments("default").Create(ctx, deployment(app, nodeName, "local", 20), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cleanupApp(t, app, true)
	pods := waitPods(ctx, t, app, 90*time.Second, "20 Running", allRunning(20))
	before := pidsByPod(t, stateDir)
	if len(before) != 20 {
		t.Fatalf("%d recorded processes for 20 pods", len(before))
	}

	v.kill9(t)
	if got := processesRunning("e2e-marker-" + app); len(got) != 20 {
		t.Fatalf("%d worker processes after kill -9 of surge-vnode, want the 20 to keep running", len(got))
	}
	// The Deployment loses a pod while no node runs: it stays Terminating.
	victim := pods[0].Name
	if err := kc.CoreV1().Pods("default").Delete(ctx, victim, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	// With one pod deleted the ReplicaSet creates a 21st, bound but not started yet.
	time.Sleep(time.Second)

	v.start(t)
	waitPods(ctx, t, app, 90*time.Second, "20 Running and the deleted pod gone", func(ps []corev1.Pod) bool {
		for _, p := range ps {
			if p.Name == victim {
				return false
			}
		}
		return allRunning(20)(ps)
	})
	after := pidsByPod(t, stateDir)
	if len(after) != 20 {
		t.Fatalf("%d instances after the restart, want 20", len(after))
	}
	kept := 0
	for uid, pid := range before {
		if a, ok := after[uid]; ok {
			if a != pid {
				t.Errorf("pod %s: process %d replaced by %d", uid, pid, a)
			}
			kept++
		}
	}
	if kept != 19 {
		t.Fatalf("%d of the 19 surviving pods re-adopted", kept)
	}
	if got := processesRunning("e2e-marker-" + app); len(got) != 20 {
		t.Fatalf("%d worker processes after re-adoption, want 20 (19 re-adopted + 1 replacement)", len(got))
	}
	for _, p := range podsOf(ctx, t, app) {
		if p.Status.ContainerStatuses[0].RestartCount != 0 {
			t.Fatalf("pod %s restarted %d times", p.Name, p.Status.ContainerStatuses[0].RestartCount)
		}
	}
	scale(ctx, t, app, 0)
	waitPods(ctx, t, app, 90*time.Second, "all gone", func(ps []corev1.Pod) bool { return len(ps) == 0 })
	if got := processesRunning("e2e-marker-" + app); len(got) != 0 || instanceDirs(t, stateDir) != 0 {
		t.Fatalf("after scaling to 0: %d processes, %d instance directories", len(got), instanceDirs(t, stateDir))
	}
}

// pidsByPod reads the local backend's state files: pod UID → main process PID.
func pidsByPod(t *testing.T, stateDir string) map[string]int {
	t.Helper()
	out := map[string]int{}
	entries, _ := os.ReadDir(filepath.Join(stateDir, "pods"))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(stateDir, "pods", e.Name(), "state.json"))
		if err != nil {
			continue
		}
		var st struct{ Containers []struct{ PID int } }
		if json.Unmarshal(data, &st) == nil && len(st.Containers) == 1 && st.Containers[0].PID > 0 {
			out[e.Name()] = st.Containers[0].PID
		}
	}
	return out
}

// TestRefusedPodsFailWithReason checks that pods the virtual node cannot run fail
// with a reason naming the problem instead of hanging in Pending.
func TestRefusedPodsFailWithReason(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const nodeName = "vnode-refuse"
	startVnode(t, nodeName, "local", t.TempDir())
	tests := []struct {
		name   string
		mutate func(*corev1.PodSpec)
		want   string
	}{
		{"host-network", func(s *corev1.PodSpec) { s.HostNetwork = true }, "spec.hostNetwork"},
		{"host-path", func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}}}}
		}, "spec.volumes[0].hostPath"},
		{"unmapped-image", func(s *corev1.PodSpec) { s.Containers[0].Image = "nginx:1.27" }, `image "nginx:1.27"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "refused-" + tc.name, Namespace: "default"},
				Spec: workerPodSpec("refused", nodeName, "local")}
			tc.mutate(&pod.Spec)
			if _, err := cluster.Client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			defer cluster.Client.CoreV1().Pods("default").Delete(context.Background(), pod.Name, metav1.DeleteOptions{})
			var got *corev1.Pod
			err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				p, err := cluster.Client.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
				got = p
				return err == nil && p.Status.Phase == corev1.PodFailed, nil
			})
			if err != nil || got.Status.Reason != "UnsupportedPodSpec" || !strings.Contains(got.Status.Message, tc.want) {
				t.Fatalf("pod status %+v; want Failed, UnsupportedPodSpec, message naming %s", got.Status, tc.want)
			}
		})
	}
}

// TestFakeBackendErrorInjection runs a second virtual node on the fake backend
// with 20 % of Creates failing (half of them after creating the instance) and
// checks that every pod ends Running or Failed with a reason, and that no
// instance outlives its pod.
func TestFakeBackendErrorInjection(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const nodeName, app = "vnode-fake", "fake-worker"
	v := startVnode(t, nodeName, "fake", t.TempDir(), "--fake-create-error-rate", "0.2",
		"--fake-create-error-after-effect", "--fake-start-delay", "200ms", "--fake-seed", "7")
	kc := cluster.Client
	if _, err := kc.AppsV1().Deployments("default").Create(ctx, deployment(app, nodeName, "fake", 20), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cleanupApp(t, app, true)
	cleanupApp(t, "fake-never", false)
	// Bare pods with restartPolicy Never are not retried: a failed create fails them.
	var bare []string
	for i := range 20 {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "fake-never-", Namespace: "default", Labels: map[string]string{"app": "fake-never"}},
			Spec: workerPodSpec("never", nodeName, "fake")}
		p.Spec.RestartPolicy = corev1.RestartPolicyNever
		created, err := kc.CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err, i)
		}
		bare = append(bare, created.Name)
	}
	waitPods(ctx, t, app, 90*time.Second, "20 Running", allRunning(20))
	settled := waitPods(ctx, t, "fake-never", 60*time.Second, "each Running or Failed with a reason", func(ps []corev1.Pod) bool {
		if len(ps) != 20 {
			return false
		}
		for _, p := range ps {
			ok := p.Status.Phase == corev1.PodRunning || (p.Status.Phase == corev1.PodFailed && p.Status.Reason != "")
			if !ok {
				return false
			}
		}
		return true
	})
	failed := 0
	for _, p := range settled {
		if p.Status.Phase == corev1.PodFailed {
			failed++
		}
	}
	injected := v.metric(t, "surge_vnode_backend_errors_total", `op="create"`, `kind="Transient"`)
	t.Logf("injected create errors: %.0f; bare pods failed: %d of 20", injected, failed)
	if injected == 0 {
		t.Fatal("no create error was injected")
	}

	scale(ctx, t, app, 0)
	for _, name := range bare {
		if err := kc.CoreV1().Pods("default").Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	waitPods(ctx, t, app, 90*time.Second, "all gone", func(ps []corev1.Pod) bool { return len(ps) == 0 })
	waitPods(ctx, t, "fake-never", 90*time.Second, "all gone", func(ps []corev1.Pod) bool { return len(ps) == 0 })
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return v.metric(t, "surge_vnode_backend_instances") == 0, nil
	})
	if err != nil {
		t.Fatalf("%.0f fake instances outlive their pods", v.metric(t, "surge_vnode_backend_instances"))
	}
	if pods := v.metric(t, "surge_vnode_pods"); pods != 0 {
		t.Fatalf("the handler still tracks %.0f pods", pods)
	}
	resp, err := httpGet("http://" + v.metricsAddr + "/metrics")
	if err != nil || !strings.Contains(resp, "surge_vnode_backend_create_seconds_bucket") || !strings.Contains(resp, "surge_vnode_pod_start_seconds_count") {
		t.Fatalf("metrics lack the create latency histogram: %v", err)
	}
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
