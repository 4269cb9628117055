package prometheus

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/goleak"

	"github.com/surge-autoscaler/surge/scaler/trigger"
	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// The package's Prometheus scrapes gauge from exporter every second.
var (
	prom     *brokers.Prometheus
	gauge    *prometheus.GaugeVec
	exporter *httptest.Server
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{Components: []harness.Component{
		{Name: "exporter", Start: startExporter},
		brokers.NeedPrometheus(&prom, func() []string { return []string{strings.TrimPrefix(exporter.URL, "http://")} }),
	}}, nil)
}

// startExporter serves gauge on a local HTTP server for Prometheus to scrape.
func startExporter(context.Context) (func() error, error) {
	reg := prometheus.NewRegistry()
	gauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "surge_test_value", Help: "set by the tests"}, []string{"case"})
	reg.MustRegister(gauge)
	exporter = httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	gauge.WithLabelValues("one").Set(42)
	gauge.WithLabelValues("multi-a").Set(1)
	gauge.WithLabelValues("multi-b").Set(2)
	gauge.WithLabelValues("nan").Set(math.NaN())
	gauge.WithLabelValues("inf").Set(math.Inf(1))
	gauge.WithLabelValues("moving").Set(1)
	return func() error { exporter.Close(); return nil }, nil
}

// server returns the package's Prometheus (integration tests only: it skips under
// -short).
func server(t testing.TB) *brokers.Prometheus {
	t.Helper()
	harness.Integration(t)
	return prom
}

func build(t testing.TB, b *Builder, meta m) trigger.Source {
	t.Helper()
	full := m{"serverAddress": prom.URL, "threshold": "10"}
	for k, v := range meta {
		full[k] = v
	}
	tr, err := b.Build(context.Background(), trigger.Spec{Type: Type, Name: "it", Metadata: full})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { _ = tr.Source.Close() })
	return tr.Source
}

// eventually measures until the answer satisfies ok (the first scrape takes a second).
func eventually(t testing.TB, s trigger.Source, ok func(float64, error) bool) (v float64, err error) {
	t.Helper()
	harness.EventuallyEvery(t, 200*time.Millisecond, "an answer the test accepts", func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if v, err = s.Measure(ctx); ok(v, err) {
			return ""
		}
		return fmt.Sprintf("Measure = %v, %v", v, err)
	})
	return v, err
}

func is(want float64) func(float64, error) bool {
	return func(v float64, err error) bool { return err == nil && v == want }
}

func TestQueries(t *testing.T) {
	server(t)
	b := NewBuilder()
	defer b.Close()
	// Wait for the first scrape.
	if v, err := eventually(t, build(t, b, m{"query": `surge_test_value{case="one"}`}), is(42)); err != nil || v != 42 {
		t.Fatalf("first scrape never seen: %v, %v", v, err)
	}
	cases := []struct {
		name    string
		meta    m
		want    float64
		wantErr error
		errText string
	}{
		{name: "one element", meta: m{"query": `surge_test_value{case="one"}`}, want: 42},
		{name: "aggregated", meta: m{"query": `sum(surge_test_value{case=~"multi-.*"})`}, want: 3},
		{name: "scalar", meta: m{"query": `scalar(surge_test_value{case="one"})`}, want: 42},
		{name: "empty ignored", meta: m{"query": `surge_test_value{case="absent"}`}, want: 0},
		{name: "empty is an error", meta: m{"query": `surge_test_value{case="absent"}`, "ignoreNullValues": "false"}, wantErr: ErrEmptyResult},
		{name: "many elements", meta: m{"query": `surge_test_value{case=~"multi-.*"}`}, wantErr: ErrManyElements},
		{name: "NaN ignored", meta: m{"query": `surge_test_value{case="nan"}`}, want: 0},
		{name: "NaN is an error", meta: m{"query": `surge_test_value{case="nan"}`, "ignoreNullValues": "false"}, wantErr: ErrNotFinite},
		{name: "Inf is an error", meta: m{"query": `surge_test_value{case="inf"}`, "ignoreNullValues": "false"}, wantErr: ErrNotFinite},
		{name: "matrix", meta: m{"query": `surge_test_value{case="one"}[1m]`}, wantErr: ErrUnsupportedRes},
		{name: "bad PromQL carries the server's message", meta: m{"query": `sum(`}, errText: "bad_data"},
		{name: "query parameters and headers pass through", meta: m{"query": `surge_test_value{case="one"}`,
			"queryParameters": "stats=all", "customHeaders": "X-Scope-OrgID=t1", "namespace": "ns"}, want: 42},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := build(t, b, tc.meta).Measure(context.Background())
			switch {
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Errorf("err = %v, want %v", err, tc.wantErr)
				}
			case tc.errText != "":
				if err == nil || !strings.Contains(err.Error(), tc.errText) {
					t.Errorf("err = %v, want it to contain %q", err, tc.errText)
				}
			case err != nil || v != tc.want:
				t.Errorf("Measure = %v, %v; want %v", v, err, tc.want)
			}
		})
	}
	t.Run("value follows the gauge", func(t *testing.T) {
		s := build(t, b, m{"query": `surge_test_value{case="moving"}`})
		for _, want := range []float64{5, 250.5, 0} {
			gauge.WithLabelValues("moving").Set(want)
			if v, err := eventually(t, s, is(want)); err != nil || v != want {
				t.Errorf("after setting %v: %v, %v", want, v, err)
			}
		}
	})
}

func TestServerFaults(t *testing.T) {
	p := server(t)
	leaks := goleak.IgnoreCurrent()
	b := NewBuilder()
	s := build(t, b, m{"query": `surge_test_value{case="one"}`})
	if v, err := eventually(t, s, is(42)); err != nil || v != 42 {
		t.Fatalf("before: %v, %v", v, err)
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, err := s.Measure(ctx)
		cancel()
		if err == nil {
			t.Fatal("Measure succeeded with Prometheus killed")
		}
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("Measure took %v", took)
		}
		if i == 0 {
			t.Logf("while killed: %v", err)
		}
	}
	if err := p.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	if v, err := eventually(t, s, is(42)); err != nil || v != 42 {
		t.Fatalf("after restart: %v, %v", v, err)
	}
	_ = s.Close()
	_ = b.Close()
	goleak.VerifyNone(t, leaks,
		goleak.IgnoreAnyFunction("github.com/surge-autoscaler/surge/test/harness/brokers.startProc.func1"),
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"))
}
