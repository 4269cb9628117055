package prometheus

import (
	"context"
	"slices"
	"testing"
	"time"
)

// BenchmarkMeasure reports Measure's p50/p99 (µs) and allocations against the
// package's private Prometheus.
func BenchmarkMeasure(b *testing.B) {
	server(b)
	bl := NewBuilder()
	defer bl.Close()
	for _, tc := range []struct{ name, query string }{
		{"selector", `surge_test_value{case="one"}`},
		{"sum-rate", `sum(rate(surge_test_value[1m]))`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := build(b, bl, m{"query": tc.query})
			ctx := context.Background()
			if _, err := eventually(b, s, func(_ float64, err error) bool { return err == nil }); err != nil {
				b.Fatal(err)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if _, err := s.Measure(ctx); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
