package metricsapi

import (
	"context"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// MetricSource is what the metrics API reads: the scaler's sample store. It never
// opens a broker connection of its own; Refresh asks the store's owner of the
// trigger to measure now (single-flight per key) and returns that reading. A key the
// source does not hold is an error wrapping [trigger.ErrUnknownMetric].
type MetricSource interface {
	Latest(ctx context.Context, key trigger.Key) (trigger.Reading, error)
	Refresh(ctx context.Context, key trigger.Key) (trigger.Reading, error)
	Keys() []trigger.Key
}
