package scalerbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

func ptr[T any](v T) *T { return &v }

func deployment(ns, name string) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(0)),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "example.invalid/worker:1"}}},
			},
		},
	}
}

func scaledObject(ns, name string, cooldown int32) *v1alpha1.ScaledObject {
	return &v1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.ScaledObjectSpec{
			ScaleTargetRef:  &v1alpha1.ScaleTarget{Name: name},
			PollingInterval: ptr(int32(1)),
			CooldownPeriod:  ptr(int32(cooldown)),
			MaxReplicaCount: ptr(int32(10)),
			Triggers: []v1alpha1.ScaleTriggers{{Type: "fake", Name: "load",
				Metadata: map[string]string{"name": name, "target": "5"}}},
		},
	}
}

// createMany creates n Deployments and ScaledObjects in ns with 32 writers.
func createMany(b *testing.B, ns string, names []string, cooldown int32) {
	b.Helper()
	ctx := context.Background()
	if err := benv.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		b.Fatal(err)
	}
	work := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 32 {
		wg.Go(func() {
			for n := range work {
				for _, o := range []client.Object{deployment(ns, n), scaledObject(ns, n, cooldown)} {
					if err := benv.c.Create(ctx, o); err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
				}
			}
		})
	}
	for _, n := range names {
		work <- n
	}
	close(work)
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}

// waitAllReady waits until every ScaledObject in ns has its HPA (status.hpaName).
func waitAllReady(b *testing.B, ns string, n int, timeout time.Duration) time.Duration {
	b.Helper()
	start := time.Now()
	for time.Since(start) < timeout {
		var list v1alpha1.ScaledObjectList
		if err := benv.c.List(context.Background(), &list, client.InNamespace(ns)); err == nil {
			ready := 0
			for i := range list.Items {
				if list.Items[i].Status.HPAName != "" {
					ready++
				}
			}
			if ready == n {
				return time.Since(start)
			}
		}
		time.Sleep(time.Second)
	}
	b.Fatalf("not every ScaledObject in %s ready within %s", ns, timeout)
	return 0
}

// scalerProc is a surge-scaler process for the benchmark.
type scalerProc struct {
	cmd   *exec.Cmd
	stats int
}

func startScaler(b *testing.B, ns, fakeDir string) *scalerProc {
	b.Helper()
	ports, err := harness.FreePorts(2)
	if err != nil {
		b.Fatal(err)
	}
	stats, health := ports[0], ports[1]
	logf, err := os.Create(filepath.Join(benv.cluster.Dir, "surge-scaler-bench-"+ns+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(benv.bin, "--kubeconfig="+benv.cluster.Kubeconfig,
		"--watch-namespaces="+ns, "--cluster-object-namespace="+ns, "--metrics-api=false",
		"--metrics-bind-address=127.0.0.1:"+strconv.Itoa(stats),
		"--health-probe-bind-address=127.0.0.1:"+strconv.Itoa(health),
		"--fake-trigger-dir="+fakeDir,
		"--kube-api-qps=500", "--kube-api-burst=1000", "--max-concurrent-reconciles=16")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	p := &scalerProc{cmd: cmd, stats: stats}
	harness.AtExit("surge-scaler "+ns, func() error { _ = cmd.Process.Kill(); _ = cmd.Wait(); return logf.Close() })
	return p
}

func (p *scalerProc) metricsURL() string { return fmt.Sprintf("http://127.0.0.1:%d/metrics", p.stats) }

// BenchmarkScaledObjects runs one surge-scaler process with 1,000 and 5,000
// ScaledObjects on fake triggers at pollingInterval 1 s. Each iteration changes one
// ScaledObject's spec and waits until its HPA shows the change (ns/op is that
// reconcile time, end to end). Reported: CPU cores and RSS of surge-scaler at steady
// state (a 20 s window), polls per second, poll-loop jitter (how late polls start,
// p50/p99 upper bucket bounds), and the time to bring every ScaledObject up.
func BenchmarkScaledObjects(b *testing.B) {
	harness.Integration(b)
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) { benchObjects(b, n) })
	}
}

// objectsEnv is one population of ScaledObjects with its surge-scaler process and
// its steady-state figures, set up once per size (the testing package calls a
// benchmark function more than once).
type objectsEnv struct {
	ns                     string
	names                  []string
	cores, rss, polls, p50 float64
	p99, startup, heap     float64
}

var (
	envMu   sync.Mutex
	objEnvs = map[int]*objectsEnv{}
)

func objects(b *testing.B, n int) *objectsEnv {
	envMu.Lock()
	defer envMu.Unlock()
	if e, ok := objEnvs[n]; ok {
		return e
	}
	e := &objectsEnv{ns: fmt.Sprintf("bench-%d", n)}
	fakeDir, err := os.MkdirTemp("", "surge-bench-fakes-")
	if err != nil {
		b.Fatal(err)
	}
	harness.AtExit("fake trigger directory", func() error { return os.RemoveAll(fakeDir) })
	e.names = make([]string, n)
	for i := range e.names {
		e.names[i] = fmt.Sprintf("so-%05d", i)
		if err := os.WriteFile(filepath.Join(fakeDir, e.names[i]), []byte("0"), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	createMany(b, e.ns, e.names, 300)
	created := time.Since(start)
	p := startScaler(b, e.ns, fakeDir)
	up := waitAllReady(b, e.ns, n, 30*time.Minute)
	b.Logf("%d objects created in %s; all reconciled (HPA created) %s after surge-scaler started", n, created.Round(time.Second), up.Round(time.Second))

	time.Sleep(15 * time.Second) // let the initial scale-to-zero and status writes settle
	pid := p.cmd.Process.Pid
	h0, err := scrapeHistogram(p.metricsURL(), "surge_scaler_poll_delay_seconds")
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	if e.cores, err = cpuOver(pid, 20*time.Second); err != nil {
		b.Fatal(err)
	}
	h1, err := scrapeHistogram(p.metricsURL(), "surge_scaler_poll_delay_seconds")
	if err != nil {
		b.Fatal(err)
	}
	if e.rss, err = rssMiB(pid); err != nil {
		b.Fatal(err)
	}
	if heap, err := scrapeGauge(p.metricsURL(), "go_memstats_heap_inuse_bytes"); err == nil {
		e.heap = heap / (1 << 20)
	}
	e.polls = (h1.count - h0.count) / time.Since(t0).Seconds()
	e.p50, e.p99 = quantile(h0, h1, 0.5)*1000, quantile(h0, h1, 0.99)*1000
	e.startup = up.Seconds()
	objEnvs[n] = e
	return e
}

func benchObjects(b *testing.B, n int) {
	e := objects(b, n)
	ns, names := e.ns, e.names
	// Reconcile time of a spec change: maxReplicaCount → the HPA's maxReplicas.
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		name := names[(i*7919+int(time.Now().UnixNano()%997))%n]
		so := &v1alpha1.ScaledObject{}
		if err := benv.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, so); err != nil {
			b.Fatal(err)
		}
		want := 11 + int32(i%80)
		so.Spec.MaxReplicaCount = &want
		t0 := time.Now()
		if err := benv.c.Update(ctx, so); err != nil {
			b.Fatal(err)
		}
		for {
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			if err := benv.c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "surge-" + name}, h); err == nil && h.Spec.MaxReplicas == want {
				break
			}
			if time.Since(t0) > time.Minute {
				b.Fatalf("HPA of %s did not follow the spec change within a minute", name)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	b.StopTimer()
	b.ReportMetric(e.cores, "cpu-cores")
	b.ReportMetric(e.rss, "rss-MiB")
	b.ReportMetric(e.heap, "heap-inuse-MiB")
	b.ReportMetric(e.polls, "polls/s")
	b.ReportMetric(e.p50, "jitter-p50-ms")
	b.ReportMetric(e.p99, "jitter-p99-ms")
	b.ReportMetric(e.startup, "startup-s")
}

// sortDurations sorts in place and returns the slice.
func sortDurations(d []time.Duration) []time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d
}
