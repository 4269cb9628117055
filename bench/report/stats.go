package report

import (
	"math"
	"slices"
	"time"
)

// Stats summarises a distribution of durations.
type Stats struct {
	N   int           `json:"n"`
	P50 time.Duration `json:"-"`
	P95 time.Duration `json:"-"`
	Max time.Duration `json:"-"`
	// The same in milliseconds, for machines reading the JSON.
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Summarize computes N, p50, p95 and max of ds with the nearest-rank method: the
// p-th percentile is the smallest value with at least p % of the values at or below
// it, so every reported figure is a value that was actually measured. ds is not
// modified.
func Summarize(ds []time.Duration) Stats {
	if len(ds) == 0 {
		return Stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	st := Stats{N: len(s), P50: Percentile(s, 50), P95: Percentile(s, 95), Max: s[len(s)-1]}
	st.P50Ms, st.P95Ms, st.MaxMs = millis(st.P50), millis(st.P95), millis(st.Max)
	return st
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of sorted.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func millis(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}
