package metricsapi

import (
	"context"
	"errors"
	"time"
)

// MetricKey names one external metric in one namespace. Metric names are stable:
// the controller derives them from the ScaledObject and the trigger's name/type,
// never from the trigger's index.
type MetricKey struct {
	Namespace string
	Name      string
}

// Sample is the latest measurement the sample store holds for one metric, with what
// the metrics API needs to judge it.
type Sample struct {
	// Value is the trigger's raw value.
	Value float64
	// Time is when Value was measured (served as the metric's timestamp).
	Time time.Time
	// Err is the error of the latest measurement, nil if it succeeded. When Err is
	// set, Value and Time are those of the last successful measurement (zero if none).
	Err error
	// ConsecutiveFailures counts failed measurements since the last success.
	ConsecutiveFailures int
	// PollingInterval is the owning ScaledObject's pollingInterval.
	PollingInterval time.Duration
	// Labels are matched against the HPA's metric selector
	// (e.g. scaledobject.surge.dev/name=NAME).
	Labels map[string]string
	// Fallback is set when the ScaledObject has spec.fallback.
	Fallback *Fallback
	// UseCachedMetrics mirrors triggers[].useCachedMetrics.
	UseCachedMetrics bool
}

// Fallback is what the metrics API needs to serve a value that makes the HPA hold
// fallback.replicas: for an AverageValue target T, Replicas × T.
type Fallback struct {
	FailureThreshold int32
	Replicas         int32
	// Target is the HPA metric's target value.
	Target float64
}

// ErrUnknownMetric is returned (wrapped) by a MetricSource for a key it does not hold.
var ErrUnknownMetric = errors.New("unknown metric")

// MetricSource is what the metrics API reads: the scaler's sample store. It never
// opens a broker connection of its own; Refresh asks the store's owner of the
// trigger to measure now (single-flight per key) and returns that sample.
type MetricSource interface {
	Latest(ctx context.Context, key MetricKey) (Sample, error)
	Refresh(ctx context.Context, key MetricKey) (Sample, error)
	Keys() []MetricKey
}
