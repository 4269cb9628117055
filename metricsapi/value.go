package metricsapi

import (
	"errors"
	"fmt"
	"math"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// StaleFactor is how many polling intervals a sample may age before the metrics API
// stops serving it: a sample older than StaleFactor × pollingInterval is stale.
const StaleFactor = 3

// DefaultPollingInterval is assumed for a sample whose PollingInterval is not set
// (KEDA's default pollingInterval).
const DefaultPollingInterval = 30 * time.Second

// Reasons a sample cannot be served. Each is wrapped in the error Judge returns; the
// messages name the condition, never the measurement's own error text.
var (
	// ErrStale: the sample is older than StaleFactor × pollingInterval.
	ErrStale = errors.New("sample is stale")
	// ErrMeasureFailed: the latest measurement failed and fallback does not apply.
	ErrMeasureFailed = errors.New("latest measurement failed")
	// ErrNoSample: the metric has not been measured yet.
	ErrNoSample = errors.New("not measured yet")
	// ErrNotANumber: the measured value is NaN.
	ErrNotANumber = errors.New("value is not a number")
)

// Verdict is what the metrics API serves for one sample.
type Verdict struct {
	// Value is the metric's value with milli precision.
	Value resource.Quantity
	// Time is the value's timestamp: the sample's, or now for a fallback value.
	Time time.Time
	// Fallback is true when Value is fallback.replicas × target.
	Fallback bool
}

// Judge decides what to serve for reading s at now: its value, the fallback value
// ([trigger.Fallback.Applies], [trigger.Fallback.Value]), or an error wrapping
// ErrStale, ErrMeasureFailed, ErrNoSample or ErrNotANumber. It is a pure function; the
// error message is safe to return to API clients (it never includes s.Err's text).
func Judge(s trigger.Reading, now time.Time) (Verdict, error) {
	if s.FallbackApplies() {
		v := s.Fallback.Value(s.Rule)
		if math.IsNaN(v) {
			return Verdict{}, fmt.Errorf("fallback value: %w", ErrNotANumber)
		}
		return Verdict{Value: MilliQuantity(v), Time: now, Fallback: true}, nil
	}
	if s.Err != nil {
		msg := fmt.Sprintf("%d consecutive failures", s.ConsecutiveFailures)
		if s.Fallback != nil {
			msg += fmt.Sprintf(", fallback after %d", s.Fallback.FailureThreshold)
		}
		return Verdict{}, fmt.Errorf("%w (%s)", ErrMeasureFailed, msg)
	}
	if s.Time.IsZero() {
		return Verdict{}, ErrNoSample
	}
	interval := s.PollingInterval
	if interval <= 0 {
		interval = DefaultPollingInterval
	}
	if age := now.Sub(s.Time); age > StaleFactor*interval {
		return Verdict{}, fmt.Errorf("%w: measured %s ago, more than %d × pollingInterval (%s)",
			ErrStale, age.Round(time.Millisecond), StaleFactor, interval)
	}
	if math.IsNaN(s.Value) {
		return Verdict{}, ErrNotANumber
	}
	return Verdict{Value: MilliQuantity(s.Value), Time: s.Time}, nil
}

// twoTo63 is 2^63 as a float64: the first float beyond int64's range.
const twoTo63 = float64(1 << 63)

// MilliQuantity returns v as a DecimalSI quantity with milli precision (rounded half
// away from zero). Values whose milli value falls outside int64 are clamped; NaN
// yields zero (callers reject NaN first).
func MilliQuantity(v float64) resource.Quantity {
	m := math.Round(v * 1000)
	var milli int64
	switch {
	case math.IsNaN(m):
		milli = 0
	case m >= twoTo63:
		milli = math.MaxInt64
	case m <= -twoTo63:
		milli = -math.MaxInt64
	default:
		milli = int64(m)
	}
	return *resource.NewMilliQuantity(milli, resource.DecimalSI)
}
