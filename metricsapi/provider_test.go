package metricsapi_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/metricsapi/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// secret is a broker URL with a password, as a trigger's error might carry it.
const secret = "amqp://guest:s3cr3t-pw@rabbit.example:5672/vhost"

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// logSink collects every log line (all verbosities) so tests can assert on it.
type logSink struct{ lines []string }

func (l *logSink) logger() logr.Logger {
	return funcr.New(func(prefix, args string) { l.lines = append(l.lines, prefix+" "+args) },
		funcr.Options{Verbosity: 10})
}

func (l *logSink) String() string { return strings.Join(l.lines, "\n") }

var keyA = trigger.Key{Namespace: "team-a", Name: "s0-rabbitmq-orders"}

func sample(mod func(*trigger.Reading)) trigger.Reading {
	s := trigger.Reading{
		Metric: trigger.Metric{PollingInterval: 10 * time.Second, Labels: map[string]string{"scaledobject.surge.dev/name": "orders"},
			UseCachedMetrics: true},
		Sample: trigger.Sample{Value: 12.5, Time: t0.Add(-2 * time.Second)},
	}
	if mod != nil {
		mod(&s)
	}
	return s
}

func TestGetExternalMetric(t *testing.T) {
	type want struct {
		code      int    // 0: success
		value     string // Quantity string on success
		time      time.Time
		msg       []string // substrings of the error message
		notMsg    []string // must not appear in the error message or the log
		refreshes int      // expected Refresh calls
	}
	stored := func(s trigger.Reading) map[trigger.Key]trigger.Reading {
		return map[trigger.Key]trigger.Reading{keyA: s}
	}
	tests := []struct {
		name       string
		samples    map[trigger.Key]trigger.Reading
		ns, metric string
		selector   string
		setup      func(*fake.Source)
		want       want
	}{
		{
			name: "fresh sample served with milli precision and its own timestamp", samples: stored(sample(nil)),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0.Add(-2 * time.Second)},
		},
		{
			name: "unknown metric is 404 naming the metric", samples: stored(sample(nil)),
			ns: keyA.Namespace, metric: "s1-nope",
			want: want{code: 404, msg: []string{"s1-nope"}},
		},
		{
			name: "unknown namespace is 404", samples: stored(sample(nil)),
			ns: "no-such-ns", metric: keyA.Name,
			want: want{code: 404, msg: []string{keyA.Name}},
		},
		{
			name: "metric of another namespace does not leak", samples: stored(sample(nil)),
			ns: "team-b", metric: keyA.Name,
			want: want{code: 404, notMsg: []string{"team-a", "12500", "scaledobject"}},
		},
		{
			name: "matching selector", samples: stored(sample(nil)),
			ns: keyA.Namespace, metric: keyA.Name, selector: "scaledobject.surge.dev/name=orders",
			want: want{value: "12500m", time: t0.Add(-2 * time.Second)},
		},
		{
			name: "selector for another object is 404", samples: stored(sample(nil)),
			ns: keyA.Namespace, metric: keyA.Name, selector: "scaledobject.surge.dev/name=payments",
			want: want{code: 404, msg: []string{keyA.Name, "payments"}},
		},
		{
			name:    "selector against a sample without labels is 404",
			samples: stored(sample(func(s *trigger.Reading) { s.Labels = nil })),
			ns:      keyA.Namespace, metric: keyA.Name, selector: "scaledobject.surge.dev/name=orders",
			want: want{code: 404},
		},
		{
			name:    "empty selector matches a sample without labels",
			samples: stored(sample(func(s *trigger.Reading) { s.Labels = nil })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0.Add(-2 * time.Second)},
		},
		{
			name:    "exactly 3 x pollingInterval old is still served",
			samples: stored(sample(func(s *trigger.Reading) { s.Time = t0.Add(-30 * time.Second) })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0.Add(-30 * time.Second)},
		},
		{
			name:    "older than 3 x pollingInterval is 503",
			samples: stored(sample(func(s *trigger.Reading) { s.Time = t0.Add(-30*time.Second - time.Millisecond) })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"stale", keyA.Name, "10s"}},
		},
		{
			name: "unset pollingInterval defaults to 30s (89s old served)",
			samples: stored(sample(func(s *trigger.Reading) {
				s.PollingInterval, s.Time = 0, t0.Add(-89*time.Second)
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0.Add(-89 * time.Second)},
		},
		{
			name: "unset pollingInterval defaults to 30s (91s old stale)",
			samples: stored(sample(func(s *trigger.Reading) {
				s.PollingInterval, s.Time = 0, t0.Add(-91*time.Second)
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"stale"}},
		},
		{
			name:    "never measured is 503",
			samples: stored(sample(func(s *trigger.Reading) { s.Time = time.Time{} })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"not measured yet"}},
		},
		{
			name: "failed measurement without fallback is 503 and hides the error text",
			samples: stored(sample(func(s *trigger.Reading) {
				s.Err, s.ConsecutiveFailures = errors.New("dial "+secret+": connection refused"), 1
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"measurement failed", "1 consecutive"}, notMsg: []string{"s3cr3t", "rabbit.example"}},
		},
		{
			name: "failures below the fallback threshold are 503",
			samples: stored(sample(func(s *trigger.Reading) {
				s.Err, s.ConsecutiveFailures = errors.New(secret), 2
				s.Fallback, s.Rule.Target = &trigger.Fallback{FailureThreshold: 3, Replicas: 5}, 10
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"2 consecutive failures, fallback after 3"}, notMsg: []string{"s3cr3t"}},
		},
		{
			name: "failures reaching the fallback threshold serve replicas x target at now",
			samples: stored(sample(func(s *trigger.Reading) {
				s.Err, s.ConsecutiveFailures = errors.New(secret), 3
				s.Fallback, s.Rule.Target = &trigger.Fallback{FailureThreshold: 3, Replicas: 5}, 10
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "50", time: t0, notMsg: []string{"s3cr3t"}},
		},
		{
			name: "fallback with a fractional target keeps milli precision",
			samples: stored(sample(func(s *trigger.Reading) {
				s.Err, s.ConsecutiveFailures = errors.New("x"), 7
				s.Fallback, s.Rule.Target = &trigger.Fallback{FailureThreshold: 3, Replicas: 3}, 0.5
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "1500m", time: t0},
		},
		{
			name: "fallback configured but no failures serves the measured value",
			samples: stored(sample(func(s *trigger.Reading) {
				s.Fallback, s.Rule.Target = &trigger.Fallback{FailureThreshold: 3, Replicas: 5}, 10
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0.Add(-2 * time.Second)},
		},
		{
			name: "useCachedMetrics false reads through Refresh (stale cache becomes fresh)",
			samples: stored(sample(func(s *trigger.Reading) {
				s.UseCachedMetrics, s.Time = false, t0.Add(-time.Hour)
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			want: want{value: "12500m", time: t0, refreshes: 1},
		},
		{
			name:    "useCachedMetrics true serves the cache without Refresh",
			samples: stored(sample(func(s *trigger.Reading) { s.Time = t0.Add(-time.Hour) })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"stale"}, refreshes: 0},
		},
		{
			name:    "failing Refresh falls back to a fresh cached sample",
			samples: stored(sample(func(s *trigger.Reading) { s.UseCachedMetrics = false })),
			ns:      keyA.Namespace, metric: keyA.Name,
			setup: func(f *fake.Source) { f.FailNextRefresh(errors.New("timeout talking to " + secret)) },
			want:  want{value: "12500m", time: t0.Add(-2 * time.Second), refreshes: 1, notMsg: []string{"s3cr3t"}},
		},
		{
			name: "failing Refresh with a stale cache is 503",
			samples: stored(sample(func(s *trigger.Reading) {
				s.UseCachedMetrics, s.Time = false, t0.Add(-time.Hour)
			})),
			ns: keyA.Namespace, metric: keyA.Name,
			setup: func(f *fake.Source) { f.FailNextRefresh(context.DeadlineExceeded) },
			want:  want{code: 503, msg: []string{"stale"}, refreshes: 1},
		},
		{
			name:    "metric deleted between Latest and Refresh is 404",
			samples: stored(sample(func(s *trigger.Reading) { s.UseCachedMetrics = false })),
			ns:      keyA.Namespace, metric: keyA.Name,
			setup: func(f *fake.Source) { f.FailNextRefresh(trigger.ErrUnknownMetric) },
			want:  want{code: 404, msg: []string{keyA.Name}, refreshes: 1},
		},
		{
			name: "source failure is 500 without the error text", samples: stored(sample(nil)),
			ns: keyA.Namespace, metric: keyA.Name,
			setup: func(f *fake.Source) { f.FailNextLatest(errors.New("store: " + secret)) },
			want:  want{code: 500, msg: []string{keyA.Name}, notMsg: []string{"s3cr3t"}},
		},
		{
			name:    "NaN is 503",
			samples: stored(sample(func(s *trigger.Reading) { s.Value = nan() })),
			ns:      keyA.Namespace, metric: keyA.Name,
			want: want{code: 503, msg: []string{"not a number"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := clocktesting.NewFakePassiveClock(t0)
			src := fake.NewSource(clk)
			for k, s := range tc.samples {
				src.Set(k, s)
			}
			if tc.setup != nil {
				tc.setup(src)
			}
			logs := &logSink{}
			p := metricsapi.NewProvider(src, logs.logger(), metricsapi.WithClock(clk))
			sel := labels.Everything()
			if tc.selector != "" {
				var err error
				if sel, err = labels.Parse(tc.selector); err != nil {
					t.Fatal(err)
				}
			}
			list, err := p.GetExternalMetric(context.Background(), tc.ns, sel, provider.ExternalMetricInfo{Metric: tc.metric})
			for _, s := range tc.want.notMsg {
				if strings.Contains(logs.String(), s) {
					t.Errorf("log contains %q:\n%s", s, logs)
				}
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("error %q contains %q", err, s)
				}
			}
			if _, refreshes, _ := src.Calls(); refreshes != tc.want.refreshes {
				t.Errorf("Refresh called %d times, want %d", refreshes, tc.want.refreshes)
			}
			if tc.want.code != 0 {
				if err == nil {
					t.Fatalf("got %v, want HTTP %d", list, tc.want.code)
				}
				if code := statusCode(err); code != tc.want.code {
					t.Fatalf("HTTP %d (%v), want %d", code, err, tc.want.code)
				}
				for _, s := range tc.want.msg {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not contain %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("GetExternalMetric: %v", err)
			}
			if len(list.Items) != 1 {
				t.Fatalf("got %d items, want 1", len(list.Items))
			}
			it := list.Items[0]
			if it.MetricName != tc.metric {
				t.Errorf("metricName %q, want %q", it.MetricName, tc.metric)
			}
			if got := it.Value.String(); got != tc.want.value {
				t.Errorf("value %s, want %s", got, tc.want.value)
			}
			if !it.Timestamp.Time.Equal(tc.want.time) {
				t.Errorf("timestamp %s, want %s", it.Timestamp.Time, tc.want.time)
			}
		})
	}
}

func statusCode(err error) int {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return int(se.Status().Code)
	}
	return http.StatusTeapot
}

func TestGetExternalMetricDoesNotShareLabels(t *testing.T) {
	src := fake.NewSource(clocktesting.NewFakePassiveClock(t0))
	src.Set(keyA, sample(nil))
	p := metricsapi.NewProvider(src, logr.Discard(), metricsapi.WithClock(clocktesting.NewFakePassiveClock(t0)))
	list, err := p.GetExternalMetric(context.Background(), keyA.Namespace, nil, provider.ExternalMetricInfo{Metric: keyA.Name})
	if err != nil {
		t.Fatal(err)
	}
	list.Items[0].MetricLabels["scaledobject.surge.dev/name"] = "mutated"
	s, _ := src.Latest(context.Background(), keyA)
	if s.Labels["scaledobject.surge.dev/name"] != "orders" {
		t.Fatalf("response shares the source's label map: %v", s.Labels)
	}
}

func TestListAllExternalMetrics(t *testing.T) {
	src := fake.NewSource(nil)
	for _, k := range []trigger.Key{
		{Namespace: "b", Name: "m2"}, {Namespace: "a", Name: "m2"}, {Namespace: "a", Name: "m1"},
	} {
		src.Set(k, sample(nil))
	}
	names := func(infos []provider.ExternalMetricInfo) []string {
		var out []string
		for _, i := range infos {
			out = append(out, i.Metric)
		}
		return out
	}
	tests := []struct {
		name string
		src  metricsapi.MetricSource
		list bool
		want []string
	}{
		{"placeholder by default", src, false, []string{metricsapi.DiscoveryResource}},
		{"placeholder for an empty source", fake.NewSource(nil), false, []string{metricsapi.DiscoveryResource}},
		{"names deduplicated and sorted", src, true, []string{"m1", "m2"}},
		{"no names for an empty source", fake.NewSource(nil), true, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := names(metricsapi.NewProvider(tc.src, logr.Discard(), metricsapi.WithListMetricNames(tc.list)).ListAllExternalMetrics())
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}
