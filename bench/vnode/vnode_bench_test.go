package vnodebench

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/fake"
	"github.com/surge-autoscaler/surge/providers/local"
	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/vnode"
)

const workerImage = "surge.dev/bench/worker:1"

// recorder wraps a backend and notes when Create is first called per pod UID.
type recorder struct {
	providers.Backend
	mu sync.Mutex
	at map[string]time.Time
}

func (r *recorder) Create(ctx context.Context, spec *providers.InstanceSpec) error {
	r.mu.Lock()
	if _, ok := r.at[spec.Ref.UID]; !ok {
		r.at[spec.Ref.UID] = time.Now()
	}
	r.mu.Unlock()
	return r.Backend.Create(ctx, spec)
}

func (r *recorder) created(uid string) (time.Time, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t, ok := r.at[uid]
	return t, ok
}

// podTimes records when each pod of a label selector is first seen bound and
// first seen Running, through an informer.
type podTimes struct {
	mu             sync.Mutex
	bound, running map[string]time.Time
}

func watchPods(ctx context.Context, b *testing.B, selector string) *podTimes {
	pt := &podTimes{bound: map[string]time.Time{}, running: map[string]time.Time{}}
	f := informers.NewSharedInformerFactoryWithOptions(cluster.Client, 0, informers.WithNamespace("default"),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = selector }))
	inf := f.Core().V1().Pods().Informer()
	see := func(obj any) {
		p, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		now := time.Now()
		pt.mu.Lock()
		defer pt.mu.Unlock()
		uid := string(p.UID)
		if _, ok := pt.bound[uid]; !ok && p.Spec.NodeName != "" {
			pt.bound[uid] = now
		}
		if _, ok := pt.running[uid]; !ok && p.Status.Phase == corev1.PodRunning {
			pt.running[uid] = now
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: see, UpdateFunc: func(_, o any) { see(o) }}); err != nil {
		b.Fatal(err)
	}
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return pt
}

// startNode runs a virtual node in-process until the returned stop is called.
func startNode(b *testing.B, name, provider string, backend providers.Backend) (stop func()) {
	cfg := *cluster.Config
	cfg.QPS, cfg.Burst = 1000, 2000 // status updates for 1,000 pods must not queue behind a rate limiter
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- vnode.Run(ctx, vnode.Config{NodeName: name, Provider: provider, Backend: backend, Client: client,
			PodIPIsNodeIP: provider == "local", SyncInterval: 250 * time.Millisecond, PodSyncWorkers: 50,
			API:     vnode.APIConfig{AllowAnonymous: true},
			OnReady: func(*vnode.Handler) { close(ready) }})
	}()
	select {
	case <-ready:
	case err := <-done:
		b.Fatalf("vnode.Run: %v", err)
	case <-time.After(60 * time.Second):
		b.Fatal("virtual node not ready in 60s")
	}
	return func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("vnode.Run: %v", err)
		}
	}
}

func podSpec(node, provider string) corev1.PodSpec {
	return corev1.PodSpec{
		NodeSelector:                  map[string]string{corev1.LabelHostname: node},
		Tolerations:                   []corev1.Toleration{{Key: vnode.TaintKey, Operator: corev1.TolerationOpExists}},
		TerminationGracePeriodSeconds: ptr.To[int64](2),
		Containers:                    []corev1.Container{{Name: "w", Image: workerImage, Args: []string{"bench-vnode-" + provider}}},
	}
}

// latencies holds per-pod durations of one measurement.
type latencies struct{ toCreate, toRunning, sync []time.Duration }

func (l *latencies) collect(pt *podTimes, rec *recorder) {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	for uid, bound := range pt.bound {
		c, ok := rec.created(uid)
		r, okr := pt.running[uid]
		if !ok || !okr {
			continue
		}
		l.toCreate = append(l.toCreate, c.Sub(bound))
		l.toRunning = append(l.toRunning, r.Sub(bound))
		l.sync = append(l.sync, r.Sub(c))
	}
}

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p * float64(len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}

func (l *latencies) report(b *testing.B, prefix string) {
	b.ReportMetric(pct(l.toCreate, 0.5), prefix+"bound-to-create-p50-ms")
	b.ReportMetric(pct(l.toCreate, 0.99), prefix+"bound-to-create-p99-ms")
	b.ReportMetric(pct(l.toRunning, 0.5), prefix+"bound-to-running-p50-ms")
	b.ReportMetric(pct(l.toRunning, 0.99), prefix+"bound-to-running-p99-ms")
	b.ReportMetric(pct(l.sync, 0.99), prefix+"create-to-running-p99-ms")
}

// waitRunning waits until the informer has seen n pods Running; it costs the
// API server nothing, unlike polling List (which at 1,000 pods every 50 ms
// loaded the API server enough to skew the measurement).
func (pt *podTimes) waitRunning(b *testing.B, n int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for {
		pt.mu.Lock()
		got := len(pt.running)
		pt.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d pods Running after %v", got, n, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitCount polls until the number of pods with selector satisfies ok.
func waitCount(ctx context.Context, b *testing.B, selector string, timeout time.Duration, ok func(total, running int) bool) {
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		l, err := cluster.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return false, nil
		}
		running := 0
		for _, p := range l.Items {
			if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
				running++
			}
		}
		return ok(len(l.Items), running), nil
	})
	if err != nil {
		b.Fatalf("pods %s: not reached in %v", selector, timeout)
	}
}

// BenchmarkLocal100 scales a Deployment of worker processes on the local backend
// from 0 to 100 and reports how long until all 100 are Running (from the scale
// request, and from the first pod bound) and the per-pod latencies.
func BenchmarkLocal100(b *testing.B) {
	harness.Integration(b)
	ctx := context.Background()
	im, _ := local.NewImageMap(map[string]string{workerImage: workerBin})
	opts := local.Options{Dir: b.TempDir(), Images: im, Capacity: providers.Resources{Pods: 500}}
	lb, err := local.New(opts)
	if err != nil {
		b.Fatal(err)
	}
	// Deferred first, so it runs last: whatever a failed run left is taken down.
	defer func() {
		if err := local.Purge(context.Background(), opts); err != nil {
			b.Errorf("purge: %v", err)
		}
	}()
	defer lb.Close()
	rec := &recorder{Backend: lb, at: map[string]time.Time{}}
	stop := startNode(b, "bench-local", "local", rec)
	defer stop()
	const app, n = "bench-local", 100
	labels := map[string]string{"app": app}
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: "default"}, Spec: appsv1.DeploymentSpec{
		Replicas: ptr.To[int32](0), Selector: &metav1.LabelSelector{MatchLabels: labels},
		Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: podSpec("bench-local", "local")},
	}}
	deps := cluster.Client.AppsV1().Deployments("default")
	if _, err := deps.Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	defer deps.Delete(context.Background(), app, metav1.DeleteOptions{})
	var lat latencies
	var fromScale, fromBound []time.Duration
	b.ResetTimer()
	for range b.N {
		wctx, cancel := context.WithCancel(ctx)
		pt := watchPods(wctx, b, "app="+app)
		start := time.Now()
		scaleTo(ctx, b, app, n)
		pt.waitRunning(b, n, 2*time.Minute)
		end := time.Now()
		b.StopTimer()
		fromScale = append(fromScale, end.Sub(start))
		fromBound = append(fromBound, end.Sub(firstBound(pt)))
		lat.collect(pt, rec)
		cancel()
		scaleTo(ctx, b, app, 0)
		waitCount(ctx, b, "app="+app, 2*time.Minute, func(total, _ int) bool { return total == 0 })
		waitEmpty(ctx, b, lb)
		b.StartTimer()
	}
	b.ReportMetric(pct(fromScale, 0.5)/1000, "scale-to-100-running-s")
	b.ReportMetric(pct(fromBound, 0.5)/1000, "first-bound-to-100-running-s")
	lat.report(b, "")
}

// BenchmarkFake1000 creates 1,000 pods bound to a virtual node on the fake
// backend (instances Running as soon as created) and reports the per-pod
// latencies; create-to-running is the status sync: from the backend's Create to
// the API server showing the pod Running.
func BenchmarkFake1000(b *testing.B) {
	harness.Integration(b)
	ctx := context.Background()
	fb := fake.New(fake.Options{Capacity: providers.Resources{MilliCPU: 1 << 40, MemoryBytes: 1 << 50, Pods: 5000}})
	rec := &recorder{Backend: fb, at: map[string]time.Time{}}
	stop := startNode(b, "bench-fake", "fake", rec)
	defer stop()
	const n = 1000
	pods := cluster.Client.CoreV1().Pods("default")
	var lat latencies
	var putSum, putCount float64
	b.ResetTimer()
	for i := range b.N {
		s0, c0 := statusPutSeconds(ctx, b)
		sel := fmt.Sprintf("bench=fake-%d", i)
		wctx, cancel := context.WithCancel(ctx)
		pt := watchPods(wctx, b, sel)
		var wg sync.WaitGroup
		sem := make(chan struct{}, 32)
		for j := range n {
			p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("fake-%d-%d", i, j), Namespace: "default",
				Labels: map[string]string{"bench": fmt.Sprintf("fake-%d", i)}}, Spec: podSpec("bench-fake", "fake")}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		pt.waitRunning(b, n, 5*time.Minute)
		b.StopTimer()
		s1, c1 := statusPutSeconds(ctx, b)
		putSum, putCount = putSum+s1-s0, putCount+c1-c0
		lat.collect(pt, rec)
		cancel()
		if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: sel}); err != nil {
			b.Fatal(err)
		}
		waitCount(ctx, b, sel, 5*time.Minute, func(total, _ int) bool { return total == 0 })
		waitEmpty(ctx, b, fb)
		b.StartTimer()
	}
	lat.report(b, "")
	if putCount > 0 {
		b.ReportMetric(1000*putSum/putCount, "apiserver-status-put-mean-ms")
	}
}

// statusPutSeconds returns the API server's cumulative latency sum and count of
// pod status updates, from its /metrics: the share of the status sync that is
// the API server's own.
func statusPutSeconds(ctx context.Context, b *testing.B) (sum, count float64) {
	raw, err := cluster.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		b.Logf("apiserver metrics: %v", err)
		return 0, 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_duration_seconds_") || !strings.Contains(line, `resource="pods"`) ||
			!strings.Contains(line, `subresource="status"`) || !strings.Contains(line, `verb="PUT"`) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		switch {
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_sum"):
			sum += v
		case strings.HasPrefix(line, "apiserver_request_duration_seconds_count"):
			count += v
		}
	}
	return sum, count
}

func firstBound(pt *podTimes) time.Time {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	var first time.Time
	for _, t := range pt.bound {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first
}

func scaleTo(ctx context.Context, b *testing.B, name string, n int32) {
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
		b.Fatal(err)
	}
}

func waitEmpty(ctx context.Context, b *testing.B, be providers.Backend) {
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		l, err := be.List(ctx)
		return err == nil && len(l) == 0, nil
	})
	if err != nil {
		b.Fatal("backend instances outlive their pods")
	}
}
