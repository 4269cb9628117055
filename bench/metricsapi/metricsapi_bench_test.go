// Package metricsapibench measures surge's external metrics API with 5,000 metrics
// in a (fake) sample store: the provider alone, a GET straight to the server (TLS,
// delegated authentication and authorisation), and a GET through the kube-apiserver
// aggregator as the HPA makes it. Each reports p50/p99 latency, allocations and the
// process RSS (the server runs in this process, as it runs inside surge-scaler).
//
//	go test -run '^$' -bench . -benchmem ./bench/metricsapi/
package metricsapibench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/metricsapi/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
	metricsapie2e "github.com/surge-autoscaler/surge/test/e2e/metricsapi"
	"github.com/surge-autoscaler/surge/test/harness"
)

// Store shape: 50 namespaces × 100 metrics.
const (
	namespaces   = 50
	perNamespace = 100
	nMetrics     = namespaces * perNamespace
	reader       = "bench-metrics-reader"
)

var (
	src = newSource()

	setupOnce sync.Once
	setupErr  error
	cluster   *harness.Cluster
	env       *metricsapie2e.Env
)

func newSource() *fake.Source {
	s := fake.NewSource(nil)
	now := time.Now()
	for i := range nMetrics {
		k := key(i)
		s.Set(k, trigger.Reading{
			Metric: trigger.Metric{PollingInterval: time.Hour, Labels: map[string]string{"scaledobject.surge.dev/name": k.Name}},
			Sample: trigger.Sample{Value: float64(i) + 0.25, Time: now},
		})
	}
	return s
}

func key(i int) trigger.Key {
	return trigger.Key{
		Namespace: "bench-" + strconv.Itoa(i%namespaces),
		Name:      "s0-rabbitmq-q" + strconv.Itoa(i),
	}
}

// TestMain starts nothing: the benchmarks that need the control plane start it on
// first use (setup), so that BenchmarkProviderGet runs on a quiet machine.
func TestMain(m *testing.M) { harness.Main(m, harness.Needs{}, nil) }

// setup starts one control plane and one registered metrics API server for every
// benchmark in the package, and grants the reader identity the HPA's access.
func setup(b *testing.B) {
	b.Helper()
	harness.Integration(b)
	setupOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		if cluster, setupErr = harness.StartCluster(ctx, harness.ClusterOptions{Log: io.Discard}); setupErr != nil {
			return
		}
		harness.AtExit("control plane", cluster.Stop)
		if env, setupErr = metricsapie2e.Start(ctx, cluster, src, cluster.Dir); setupErr != nil {
			return
		}
		harness.AtExit("metrics API", env.Stop)
		setupErr = grantReader(ctx)
	})
	if setupErr != nil {
		b.Fatal(setupErr)
	}
}

func grantReader(ctx context.Context) error {
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: reader},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"external.metrics.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		return err
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: reader},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: reader},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: reader}},
	}
	_, err := cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	return err
}

// BenchmarkProviderGet is the provider alone: a store read-through (Refresh on the
// fake), judging the sample and building the response object. No HTTP.
func BenchmarkProviderGet(b *testing.B) {
	p := metricsapi.NewProvider(src, logr.Discard())
	sel := labels.Everything()
	b.ReportAllocs()
	lat := make([]time.Duration, 0, 4096)
	for i := 0; b.Loop(); i++ {
		k := key(i % nMetrics)
		start := time.Now()
		if _, err := p.GetExternalMetric(context.Background(), k.Namespace, sel, provider.ExternalMetricInfo{Metric: k.Name}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat)
}

// BenchmarkGetDirect GETs metrics from the server itself over TLS, as a user with
// the HPA's RBAC presenting a client certificate (authenticated against the
// cluster's client CA). Sub-benchmarks: cold, each GET a metric not asked for before
// (a SubjectAccessReview round trip to the kube-apiserver each); warm, round robin
// over 1,000 metrics whose decisions are cached (the HPA's steady state with the
// 1-minute authorised-decision cache).
func BenchmarkGetDirect(b *testing.B) {
	for _, tc := range []struct {
		name     string
		distinct int
		warm     bool
	}{{"cold", nMetrics, false}, {"warm-1000", 1000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			setup(b)
			c, base := directClient(b)
			run(b, tc.distinct, tc.warm, func(path string) error { return httpGet(c, base+path) })
		})
	}
}

// directClient is an HTTPS client for the server, authenticating as the reader with
// a client certificate, and the server's base URL.
func directClient(b *testing.B) (*http.Client, string) {
	b.Helper()
	certPEM, keyPEM, err := cluster.SignClientCert(reader)
	if err != nil {
		b.Fatal(err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		b.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(env.Server.CABundle())
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: roots, Certificates: []tls.Certificate{cert},
		ServerName: metricsapie2e.ServiceName + "." + metricsapie2e.ServiceNamespace + ".svc",
	}}}
	return c, fmt.Sprintf("https://127.0.0.1:%d", env.Server.Port())
}

func httpGet(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// BenchmarkDiscoveryDirect GETs the group-version's resource list from the server:
// what the aggregator's discovery and kubectl fetch, one entry per metric name.
func BenchmarkDiscoveryDirect(b *testing.B) {
	setup(b)
	c, base := directClient(b)
	path := "/apis/external.metrics.k8s.io/v1beta1"
	run(b, 1, false, func(string) error { return httpGet(c, base+path) })
}

// BenchmarkGetThroughAggregator GETs metrics through the kube-apiserver as the same
// user (cold ones not yet asked for directly either), the HPA's path: the apiserver authenticates and authorises, then proxies with
// its front-proxy certificate; the server trusts the forwarded identity and authorises
// it again. Sub-benchmarks as in BenchmarkGetDirect.
func BenchmarkGetThroughAggregator(b *testing.B) {
	for _, tc := range []struct {
		name     string
		distinct int
		warm     bool
	}{{"cold", nMetrics, false}, {"warm-1000", 1000, true}} {
		b.Run(tc.name, func(b *testing.B) {
			setup(b)
			cfg, err := cluster.ClientConfig(reader)
			if err != nil {
				b.Fatal(err)
			}
			cfg.QPS, cfg.Burst = -1, 0 // no client-side throttle: measure the server path
			hc, err := rest.HTTPClientFor(cfg)
			if err != nil {
				b.Fatal(err)
			}
			base := strings.TrimSuffix(cfg.Host, "/")
			run(b, tc.distinct, tc.warm, func(path string) error { return httpGet(hc, base+path) })
		})
	}
}

// coldCursor is the next metric no benchmark has asked for yet: cold GETs consume
// metrics across benchmark runs (-count), so a metric is cold at most once per
// process (after 5,000 cold GETs they wrap around and may be cached).
var coldCursor int

// run GETs metrics with the HPA's label selector and reports latency percentiles and
// RSS. warm: round robin over the first `distinct` metrics after GETting each once,
// so the server's authorisation cache holds every decision (the HPA's steady state).
// Cold: each GET (after 50 that warm the connections) is a metric not asked for
// before, so each is a new authorisation decision.
func run(b *testing.B, distinct int, warm bool, get func(path string) error) {
	b.Helper()
	path := func(i int) string {
		k := key(i % nMetrics)
		return metricsapie2e.MetricPath(k.Namespace, k.Name) + "?labelSelector=scaledobject.surge.dev%2Fname%3D" + k.Name
	}
	next := func(i int) string {
		if warm {
			return path(i % distinct)
		}
		coldCursor++
		return path(coldCursor - 1)
	}
	n := 50
	if warm {
		n = distinct
	}
	for i := range n {
		if err := get(next(i)); err != nil {
			b.Fatalf("warm-up GET: %v", err)
		}
	}
	b.ReportAllocs()
	lat := make([]time.Duration, 0, 4096)
	for i := 0; b.Loop(); i++ {
		p := next(i)
		start := time.Now()
		if err := get(p); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	report(b, lat)
}

func report(b *testing.B, lat []time.Duration) {
	b.Helper()
	b.StopTimer()
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(p*float64(len(lat)-1))].Nanoseconds()) / 1e6
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(rssBytes())/(1<<20), "rss-MiB")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
}

// rssBytes is this process's resident set size (VmRSS), 0 if unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10
			}
		}
	}
	return 0
}
