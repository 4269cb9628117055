package metricsapi_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/labels"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/metricsapi/fake"
)

// FuzzGetExternalMetric feeds request input (namespace, metric name, label selector
// as the HPA or any client sends them) to the provider over a source holding one
// metric: it must never panic, must serve only that metric for exactly its key and a
// matching selector, and must answer 404 for everything else.
func FuzzGetExternalMetric(f *testing.F) {
	f.Add(keyA.Namespace, keyA.Name, "")
	f.Add(keyA.Namespace, keyA.Name, "scaledobject.surge.dev/name=orders")
	f.Add(keyA.Namespace, keyA.Name, "scaledobject.surge.dev/name!=orders")
	f.Add("team-b", keyA.Name, "")
	f.Add(keyA.Namespace, "S0-RABBITMQ-ORDERS", "")
	f.Add("", "", "a in (b,c),!d")
	f.Add("team-a/..", "s0-rabbitmq-orders%00", "x=")
	f.Fuzz(func(t *testing.T, ns, metric, selector string) {
		sel, err := labels.Parse(selector)
		if err != nil {
			return // the API server rejects an unparsable selector before us
		}
		clk := clocktesting.NewFakePassiveClock(t0)
		src := fake.NewSource(clk)
		src.Set(keyA, sample(nil))
		p := metricsapi.NewProvider(src, logr.Discard(), metricsapi.WithClock(clk))
		list, err := p.GetExternalMetric(context.Background(), ns, sel, provider.ExternalMetricInfo{Metric: metric})
		own := ns == keyA.Namespace && metric == keyA.Name
		matches := sel.Matches(labels.Set(sample(nil).Labels))
		switch {
		case own && matches:
			if err != nil || len(list.Items) != 1 || list.Items[0].MetricName != metric || list.Items[0].Value.String() != "12500m" {
				t.Fatalf("own metric not served: %v %v", list, err)
			}
		default:
			if err == nil {
				t.Fatalf("served %v for ns %q metric %q selector %q", list, ns, metric, selector)
			}
			if statusCode(err) != http.StatusNotFound {
				t.Fatalf("HTTP %d (%v), want 404", statusCode(err), err)
			}
		}
	})
}
