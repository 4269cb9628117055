package vnodee2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/providers/local"
	"github.com/surge-autoscaler/surge/test/harness"
)

// workerImage is the image the local backend maps to the worker fixture.
const workerImage = "surge.dev/test/worker:1"

// vnodeProc is a running surge-vnode process.
type vnodeProc struct {
	name, backend, stateDir, logPath string
	metricsAddr, healthAddr          string
	extra                            []string
	p                                *harness.Process
}

// startVnode runs surge-vnode as the node's own identity (system:node:<name>, so
// the node authorizer's rules are what it gets) and waits until it is ready.
func startVnode(t *testing.T, name, backend, stateDir string, extra ...string) *vnodeProc {
	t.Helper()
	v := &vnodeProc{name: name, backend: backend, stateDir: stateDir, extra: extra,
		logPath: filepath.Join(cluster.Dir, "vnode-"+name+".log")}
	v.start(t)
	// Cleanups run last-registered first: this one, after the test's own, stops
	// the node and takes down whatever a failed test left on the local backend.
	t.Cleanup(func() {
		v.stop()
		if backend == "local" {
			if err := local.Purge(context.Background(), local.Options{Dir: stateDir}); err != nil {
				t.Errorf("purge %s: %v", stateDir, err)
			}
		}
	})
	return v
}

func (v *vnodeProc) start(t *testing.T) {
	t.Helper()
	mp, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	hp, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	v.metricsAddr, v.healthAddr = "127.0.0.1:"+strconv.Itoa(mp), "127.0.0.1:"+strconv.Itoa(hp)
	args := []string{
		"--nodename", v.name, "--backend", v.backend, "--kubeconfig", nodeKubeconfig(t, v.name),
		"--kubelet-port", "0", "--kubelet-anonymous-auth",
		"--metrics-bind-address", v.metricsAddr, "--health-bind-address", v.healthAddr,
		"--state-dir", v.stateDir, "--image", workerImage + "=" + workerBin,
		"--restart-backoff", "1s", "--sync-interval", "250ms", "-v", "2",
	}
	args = append(args, v.extra...)
	if err := appendLine(v.logPath, fmt.Sprintf("=== %s start %v", time.Now().Format(time.RFC3339Nano), args)); err != nil {
		t.Fatal(err)
	}
	if v.p, err = harness.StartProcess(v.logPath, nil, vnodeBin, args...); err != nil {
		t.Fatal(err)
	}
	if err := v.p.WaitHTTP(context.Background(), "http://"+v.healthAddr+"/readyz"); err != nil {
		t.Fatalf("surge-vnode %s not ready: %v", v.name, err)
	}
}

// appendLine appends line to the file at path.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// kill9 kills surge-vnode with SIGKILL, as a crash would.
func (v *vnodeProc) kill9(t *testing.T) {
	t.Helper()
	v.p.Kill()
}

// stop ends surge-vnode gracefully (SIGTERM); instances stay.
func (v *vnodeProc) stop() { _ = v.p.Stop(20 * time.Second) }

// metric returns the sum of the samples of a metric family whose label set
// contains every label given as key="value".
func (v *vnodeProc) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + v.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"{") && !strings.HasPrefix(line, name+" ") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(line, l)
		}
		if !ok {
			continue
		}
		f := strings.Fields(line)
		val, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += val
		}
	}
	return sum
}

// nodeKubeconfig writes a kubeconfig authenticating as system:node:<name>.
func nodeKubeconfig(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join(cluster.Dir, "vnode-"+name+".kubeconfig")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	if err := cluster.UserKubeconfig(path, "system:node:"+name, "system:nodes"); err != nil {
		t.Fatal(err)
	}
	return path
}

// deployment is a Deployment of workers pinned to the virtual node nodeName:
// it tolerates the node's taint and selects it by hostname.
func deployment(name, nodeName, provider string, replicas int32) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       workerPodSpec(name, nodeName, provider),
			},
		},
	}
}

func workerPodSpec(marker, nodeName, provider string) corev1.PodSpec {
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{"type": "virtual-kubelet", corev1.LabelHostname: nodeName},
		Tolerations:                   []corev1.Toleration{{Key: "virtual-kubelet.io/provider", Operator: corev1.TolerationOpEqual, Value: provider, Effect: corev1.TaintEffectNoSchedule}},
		TerminationGracePeriodSeconds: ptr.To[int64](5),
		Containers: []corev1.Container{{
			Name: "worker", Image: workerImage,
			Args: []string{"-work-url=" + work.URL, "e2e-marker-" + marker},
			Env: []corev1.EnvVar{{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
				FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}},
		}},
	}
}

// podsOf lists the pods of app.
func podsOf(ctx context.Context, t *testing.T, app string) []corev1.Pod {
	t.Helper()
	l, err := cluster.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + app})
	if err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// waitPods polls the pods of app until ok holds, failing with a description.
func waitPods(ctx context.Context, t *testing.T, app string, timeout time.Duration, what string, ok func([]corev1.Pod) bool) []corev1.Pod {
	t.Helper()
	var last []corev1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = podsOf(ctx, t, app)
		return ok(last), nil
	})
	if err != nil {
		t.Fatalf("pods of %s: %s not reached in %v: %s", app, what, timeout, describePods(last))
	}
	return last
}

func allRunning(n int) func([]corev1.Pod) bool {
	return func(ps []corev1.Pod) bool {
		if len(ps) != n {
			return false
		}
		for _, p := range ps {
			if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
				return false
			}
		}
		return true
	}
}

func describePods(ps []corev1.Pod) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d pods:", len(ps))
	for i, p := range ps {
		if i == 10 {
			b.WriteString(" ...")
			break
		}
		fmt.Fprintf(&b, " [%s node=%q phase=%s reason=%q msg=%q deleting=%v]", p.Name, p.Spec.NodeName, p.Status.Phase,
			p.Status.Reason, p.Status.Message, p.DeletionTimestamp != nil)
	}
	return b.String()
}

func scale(ctx context.Context, t *testing.T, name string, n int32) {
	t.Helper()
	deps := cluster.Client.AppsV1().Deployments("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := deps.GetScale(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		s.Spec.Replicas = n
		_, err = deps.UpdateScale(ctx, name, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// cleanupApp deletes a Deployment (or bare pods) labelled app=name when the test
// ends and waits for the pods to go, so that the virtual node still runs while
// their instances are deleted.
func cleanupApp(t *testing.T, name string, deployment bool) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if deployment {
			_ = cluster.Client.AppsV1().Deployments("default").Delete(ctx, name, metav1.DeleteOptions{
				PropagationPolicy: ptr.To(metav1.DeletePropagationForeground)})
		}
		_ = cluster.Client.CoreV1().Pods("default").DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: "app=" + name})
		_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			l, err := cluster.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=" + name})
			return err == nil && len(l.Items) == 0, nil
		})
	})
}

// instanceDirs counts the local backend's instance directories.
func instanceDirs(t *testing.T, stateDir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(stateDir, "pods"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return len(entries)
}

func tail(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}
