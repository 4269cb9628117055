package trigger

import (
	"errors"
	"time"
)

// Key names one external metric in one namespace. Metric names are stable: the
// controller derives them from the ScaledObject and the trigger's identity, never
// from the trigger's index (see hpa.MetricName).
type Key struct {
	Namespace string
	Name      string
}

// ErrUnknownMetric is returned (wrapped) for a Key that is not registered.
var ErrUnknownMetric = errors.New("unknown metric")

// Metric is one trigger as registered with the sample store.
type Metric struct {
	// Key is the metric's namespace and stable name.
	Key Key
	// Ident is the trigger's identity within its ScaledObject (its name, else its
	// type and what it measures); it labels the Prometheus series.
	Ident string
	// Type is the trigger type (e.g. "rabbitmq").
	Type string
	// SpecHash is the Hash of the trigger's resolved Spec: the store keeps a
	// registered Source while it is unchanged.
	SpecHash string
	// Rule is the trigger's target, activation threshold and metric type.
	Rule Rule
	// Labels are matched against the HPA metric's selector
	// (scaledobject.surge.dev/name=NAME).
	Labels map[string]string
	// PollingInterval is the owning ScaledObject's pollingInterval.
	PollingInterval time.Duration
	// Fallback is spec.fallback; nil when the ScaledObject has none.
	Fallback *Fallback
	// UseCachedMetrics mirrors triggers[].useCachedMetrics.
	UseCachedMetrics bool
}

// Sample is the outcome of the latest measurement of one metric.
type Sample struct {
	// Value is the latest successful measurement.
	Value float64
	// Time is when Value was measured (served as the metric's timestamp); zero if
	// never.
	Time time.Time
	// Err is the error of the latest measurement, nil if it succeeded. When Err is
	// set, Value and Time are those of the last successful measurement.
	Err error
	// ConsecutiveFailures counts failed polls since the last success (see the
	// store's doc for what counts).
	ConsecutiveFailures int
}

// Reading is a Metric with its latest Sample: what activation and the metrics API
// decide from.
type Reading struct {
	Metric
	Sample
}

// Active reports whether the reading makes its trigger active (see Rule.Active).
func (r Reading) Active() bool { return r.Rule.Active(r.Sample) }

// FallbackApplies reports whether the reading's fallback applies (see
// Fallback.Applies).
func (r Reading) FallbackApplies() bool { return r.Fallback.Applies(r.Sample) }
