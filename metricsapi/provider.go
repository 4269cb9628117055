package metricsapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/metrics/pkg/apis/external_metrics"
	"k8s.io/utils/clock"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// DefaultRefreshTimeout bounds a read-through Refresh made on behalf of an HPA query.
const DefaultRefreshTimeout = 5 * time.Second

// Provider implements the library's ExternalMetricsProvider over a MetricSource. It is
// safe for concurrent use; it holds no state besides its configuration.
type Provider struct {
	src            MetricSource
	clock          clock.PassiveClock
	log            logr.Logger
	refreshTimeout time.Duration
	listNames      bool
}

var _ provider.ExternalMetricsProvider = (*Provider)(nil)

// ProviderOption configures a Provider.
type ProviderOption func(*Provider)

// WithClock sets the clock used for staleness and fallback timestamps.
func WithClock(c clock.PassiveClock) ProviderOption { return func(p *Provider) { p.clock = c } }

// WithRefreshTimeout bounds each read-through Refresh (default DefaultRefreshTimeout).
func WithRefreshTimeout(d time.Duration) ProviderOption {
	return func(p *Provider) { p.refreshTimeout = d }
}

// WithListMetricNames makes discovery list every metric name instead of the single
// placeholder resource DiscoveryResource (see ListAllExternalMetrics).
func WithListMetricNames(on bool) ProviderOption { return func(p *Provider) { p.listNames = on } }

// NewProvider returns a Provider reading src and logging to log.
func NewProvider(src MetricSource, log logr.Logger, opts ...ProviderOption) *Provider {
	p := &Provider{src: src, clock: clock.RealClock{}, log: log, refreshTimeout: DefaultRefreshTimeout}
	for _, o := range opts {
		o(p)
	}
	return p
}

// metricResource is the group-resource named in NotFound errors for metric name.
func metricResource(name string) schema.GroupResource {
	return schema.GroupResource{Group: external_metrics.GroupName, Resource: name}
}

// GetExternalMetric serves one metric in one namespace; see the package doc for the
// semantics. Errors are Kubernetes API errors (404 NotFound, 503 ServiceUnavailable).
func (p *Provider) GetExternalMetric(ctx context.Context, namespace string, selector labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	key := trigger.Key{Namespace: namespace, Name: info.Metric}
	if selector == nil {
		selector = labels.Everything()
	}
	s, err := p.read(ctx, key)
	if err != nil {
		return nil, err
	}
	if !selector.Matches(labels.Set(s.Labels)) {
		return nil, provider.NewMetricNotFoundForSelectorError(metricResource(key.Name), key.Name, namespace, selector)
	}
	v, err := Judge(s, p.clock.Now())
	if err != nil {
		p.log.V(2).Info("Not serving external metric", "namespace", namespace, "metric", key.Name,
			"reason", err.Error(), "consecutiveFailures", s.ConsecutiveFailures)
		return nil, apierrors.NewServiceUnavailable(fmt.Sprintf("external metric %s in namespace %s: %v", key.Name, namespace, err))
	}
	if v.Fallback {
		p.log.V(2).Info("Serving fallback value", "namespace", namespace, "metric", key.Name,
			"value", v.Value.String(), "consecutiveFailures", s.ConsecutiveFailures)
	}
	item := external_metrics.ExternalMetricValue{
		MetricName:   key.Name,
		MetricLabels: copyLabels(s.Labels),
		Timestamp:    metav1.NewTime(v.Time),
		Value:        v.Value,
	}
	return &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{item}}, nil
}

// read returns key's sample: a read-through Refresh unless the trigger asked for
// cached metrics. A key the source does not hold is a 404 naming the metric.
func (p *Provider) read(ctx context.Context, key trigger.Key) (trigger.Reading, error) {
	s, err := p.src.Latest(ctx, key)
	if err == nil && !s.UseCachedMetrics {
		rctx, cancel := context.WithTimeout(ctx, p.refreshTimeout)
		fresh, rerr := p.src.Refresh(rctx, key)
		cancel()
		switch {
		case rerr == nil:
			s = fresh
		case errors.Is(rerr, trigger.ErrUnknownMetric):
			err = rerr // deleted between the two calls
		case fresh.Err != nil:
			s = fresh // a store that reports the failed measurement both ways
		default:
			// Judge the cached sample instead; its staleness rule still applies. The
			// error's text is not logged: it may come from a trigger.
			p.log.V(2).Info("Refresh failed, judging cached sample", "namespace", key.Namespace,
				"metric", key.Name, "deadlineExceeded", errors.Is(rerr, context.DeadlineExceeded))
		}
	}
	if err != nil {
		if errors.Is(err, trigger.ErrUnknownMetric) {
			return trigger.Reading{}, provider.NewMetricNotFoundError(metricResource(key.Name), key.Name)
		}
		// The source's error text stays out of the response and the log: it may come
		// from a trigger and name a broker.
		p.log.Info("Reading external metric failed", "namespace", key.Namespace, "metric", key.Name,
			"canceled", errors.Is(err, context.Canceled), "deadlineExceeded", errors.Is(err, context.DeadlineExceeded))
		return trigger.Reading{}, apierrors.NewInternalError(fmt.Errorf("read external metric %s in namespace %s failed", key.Name, key.Namespace))
	}
	return s, nil
}

// DiscoveryResource is the one resource discovery lists by default, as KEDA's
// metrics server does. The HPA never needs discovery: it GETs the metric's path, and
// the server answers for any name.
const DiscoveryResource = "externalmetrics"

// ListAllExternalMetrics is what discovery (/apis/external.metrics.k8s.io/v1beta1)
// lists. By default it is the single placeholder DiscoveryResource: listing every
// metric makes each discovery response grow with the store (5,000 metrics: ~1.5 MB
// allocated and ~12 ms per response here), and the aggregator, kubectl and every
// controller's discovery client fetch it. WithListMetricNames lists every name the
// source holds instead, once each, sorted.
func (p *Provider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	if !p.listNames {
		return []provider.ExternalMetricInfo{{Metric: DiscoveryResource}}
	}
	keys := p.src.Keys()
	seen := make(map[string]struct{}, len(keys))
	out := make([]provider.ExternalMetricInfo, 0, len(keys))
	for _, k := range keys {
		if _, dup := seen[k.Name]; dup {
			continue
		}
		seen[k.Name] = struct{}{}
		out = append(out, provider.ExternalMetricInfo{Metric: k.Name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Metric < out[j].Metric })
	return out
}

func copyLabels(in map[string]string) map[string]string {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string]string, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}
