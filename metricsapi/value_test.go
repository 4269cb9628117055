package metricsapi_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

func nan() float64 { return math.NaN() }

func TestMilliQuantity(t *testing.T) {
	tests := []struct {
		name  string
		in    float64
		want  string
		milli int64
	}{
		{"zero", 0, "0", 0},
		{"integer", 150, "150", 150000},
		{"fraction", 1.5, "1500m", 1500},
		{"below half a milli rounds down", 0.0004, "0", 0},
		{"half a milli rounds away from zero", 0.0005, "1m", 1},
		{"negative", -2.25, "-2250m", -2250},
		{"large integer", 123456789, "123456789", 123456789000},
		{"huge clamps to MaxInt64 milli", 1e20, "9223372036854775807m", math.MaxInt64},
		{"+Inf clamps", math.Inf(1), "9223372036854775807m", math.MaxInt64},
		{"-Inf clamps", math.Inf(-1), "-9223372036854775807m", -math.MaxInt64},
		{"just below 2^63 milli", 9.223372036854775e15, "", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := metricsapi.MilliQuantity(tc.in)
			if tc.milli >= 0 || tc.want != "" {
				if got := q.MilliValue(); got != tc.milli {
					t.Errorf("MilliValue %d, want %d", got, tc.milli)
				}
				if got := q.String(); got != tc.want {
					t.Errorf("String %q, want %q", got, tc.want)
				}
			}
			if q.MilliValue() < 0 != (tc.in < 0) && tc.in != 0 {
				t.Errorf("sign flipped: %v -> %s", tc.in, q.String())
			}
		})
	}
}

// FuzzMilliQuantity checks, for any float, that the quantity keeps the value's sign,
// is within half a milli of it when representable, and never panics.
func FuzzMilliQuantity(f *testing.F) {
	for _, v := range []float64{0, 1.5, -1.5, 0.0005, 1e15, 9.223372036854775e15, -9.3e15, 1e300, math.Inf(1), math.SmallestNonzeroFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		q := metricsapi.MilliQuantity(v)
		m := q.MilliValue()
		if math.IsNaN(v) {
			if m != 0 {
				t.Fatalf("NaN -> %d", m)
			}
			return
		}
		if (v > 0.0005 && m <= 0) || (v < -0.0005 && m >= 0) {
			t.Fatalf("%v -> %d milli: sign lost", v, m)
		}
		if math.Abs(v) < 1e12 {
			if d := math.Abs(float64(m) - v*1000); d > 0.5000001 {
				t.Fatalf("%v -> %d milli, off by %v", v, m, d)
			}
		}
	})
}

// FuzzJudge checks Judge's invariants over arbitrary samples: it serves the sample's
// own timestamp unless it serves a fallback, never serves a failed sample below the
// fallback threshold, and never serves a sample older than 3 x pollingInterval.
func FuzzJudge(f *testing.F) {
	f.Add(12.5, int64(-2000), int64(10000), false, 0, int32(0), int32(0), 0.0)
	f.Add(1.0, int64(-31000), int64(10000), false, 0, int32(3), int32(5), 10.0)
	f.Add(1.0, int64(-1000), int64(10000), true, 3, int32(3), int32(5), 10.0)
	f.Add(1.0, int64(-1000), int64(0), true, 2, int32(3), int32(5), 10.0)
	f.Fuzz(func(t *testing.T, value float64, ageMs, intervalMs int64, failed bool, failures int, threshold, replicas int32, target float64) {
		now := t0
		s := trigger.Reading{
			Metric: trigger.Metric{PollingInterval: time.Duration(intervalMs) * time.Millisecond},
			Sample: trigger.Sample{Value: value, Time: now.Add(time.Duration(ageMs) * time.Millisecond), ConsecutiveFailures: failures},
		}
		if failed {
			s.Err = errors.New("boom")
		}
		if threshold != 0 || replicas != 0 {
			s.Fallback, s.Rule.Target = &trigger.Fallback{FailureThreshold: threshold, Replicas: replicas}, target
		}
		v, err := metricsapi.Judge(s, now)
		if err != nil {
			return
		}
		if v.Fallback {
			if s.Fallback == nil || !failed || failures < 1 || failures < int(threshold) {
				t.Fatalf("fallback served for %+v", s)
			}
			if !v.Time.Equal(now) {
				t.Fatalf("fallback timestamp %s, want now", v.Time)
			}
			return
		}
		if failed {
			t.Fatalf("failed sample served: %+v", s)
		}
		interval := s.PollingInterval
		if interval <= 0 {
			interval = metricsapi.DefaultPollingInterval
		}
		if now.Sub(s.Time) > 3*interval {
			t.Fatalf("stale sample served: age %s interval %s", now.Sub(s.Time), interval)
		}
		if !v.Time.Equal(s.Time) {
			t.Fatalf("timestamp %s, want the sample's %s", v.Time, s.Time)
		}
	})
}
