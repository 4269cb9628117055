package kafka

import "testing"

func parts(ps ...partition) map[int]partition {
	out := map[int]partition{}
	for i, p := range ps {
		out[i] = p
	}
	return out
}

func at(committed, first, last int64) partition {
	return partition{committed: committed, first: first, last: last, known: true}
}

func TestLag(t *testing.T) {
	none := partition{committed: noOffset, first: 5, last: 30, known: true}
	cases := []struct {
		name string
		cfg  Config
		snap snapshot
		want int64
	}{
		{"sum of partitions", Config{AllowIdleConsumers: true}, snapshot{"t": parts(at(0, 0, 10), at(5, 0, 8))}, 13},
		{"no commit, latest: 1", Config{OffsetResetPolicy: "latest", AllowIdleConsumers: true}, snapshot{"t": parts(none, none)}, 2},
		{"no commit, latest, scale to zero", Config{OffsetResetPolicy: "latest", ScaleToZeroOnInvalidOffset: true, AllowIdleConsumers: true}, snapshot{"t": parts(none)}, 0},
		{"no commit, earliest: retained log", Config{OffsetResetPolicy: "earliest", AllowIdleConsumers: true}, snapshot{"t": parts(none)}, 25},
		{"no commit, earliest, scale to zero", Config{OffsetResetPolicy: "earliest", ScaleToZeroOnInvalidOffset: true, AllowIdleConsumers: true}, snapshot{"t": parts(none)}, 0},
		{"no commit, earliest, offsets unknown", Config{OffsetResetPolicy: "earliest", AllowIdleConsumers: true}, snapshot{"t": parts(partition{committed: noOffset})}, 0},
		{"offsets unknown: 0", Config{AllowIdleConsumers: true}, snapshot{"t": parts(partition{committed: 3})}, 0},
		{"commit beyond watermark: 0", Config{AllowIdleConsumers: true}, snapshot{"t": parts(at(50, 0, 10), at(0, 0, 4))}, 4},
		{"capped at partitions x threshold", Config{LagThreshold: 10}, snapshot{"t": parts(at(0, 0, 100), at(0, 0, 100), at(0, 0, 100))}, 30},
		{"cap compared exactly (KEDA: integer division)", Config{LagThreshold: 10}, snapshot{"t": parts(at(0, 0, 20), at(0, 0, 15))}, 20},
		{"under the cap", Config{LagThreshold: 10}, snapshot{"t": parts(at(0, 0, 5), at(0, 0, 6))}, 11},
		{"idle consumers allowed: no cap", Config{LagThreshold: 10, AllowIdleConsumers: true}, snapshot{"t": parts(at(0, 0, 100))}, 100},
		{"limit to partitions with lag", Config{LagThreshold: 10, LimitToPartitionsWithLag: true}, snapshot{"t": parts(at(0, 0, 100), at(7, 0, 7), at(3, 0, 3))}, 10},
		{"limit, no partition with lag", Config{LagThreshold: 10, LimitToPartitionsWithLag: true}, snapshot{"t": parts(at(7, 0, 7))}, 0},
		{"two topics", Config{LagThreshold: 10}, snapshot{"a": parts(at(0, 0, 3)), "b": parts(at(1, 0, 4))}, 6},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cfg.LagThreshold == 0 {
				tc.cfg.LagThreshold = 10
			}
			if got := tc.cfg.lag(tc.snap, map[string]map[int]int64{}); got != tc.want {
				t.Errorf("lag = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestEvenDistribution(t *testing.T) {
	// KEDA's documented example: 10 partitions, lagThreshold 10.
	cfg := Config{LagThreshold: 10, EnsureEvenDistributionOfPartitions: true}
	cases := []struct{ lag, want int64 }{
		{0, 0}, {1, 10}, {10, 10}, {11, 20}, {20, 20}, {21, 50}, {50, 50}, {51, 100}, {1000, 100},
	}
	for _, tc := range cases {
		ps := map[int]partition{}
		for i := 0; i < 10; i++ {
			ps[i] = at(0, 0, 0)
		}
		ps[0] = at(0, 0, tc.lag)
		if got := cfg.lag(snapshot{"t": ps}, map[string]map[int]int64{}); got != tc.want {
			t.Errorf("lag %d: value %d, want %d", tc.lag, got, tc.want)
		}
	}
}

func TestExcludePersistentLag(t *testing.T) {
	cfg := Config{LagThreshold: 10, AllowIdleConsumers: true, ExcludePersistentLag: true, OffsetResetPolicy: "latest"}
	prev := map[string]map[int]int64{}
	steps := []struct {
		snap snapshot
		want int64
	}{
		{snapshot{"t": parts(at(5, 0, 10), at(0, 0, 3))}, 8}, // first sight: counted
		{snapshot{"t": parts(at(5, 0, 12), at(1, 0, 3))}, 2}, // partition 0 stuck at 5
		{snapshot{"t": parts(at(6, 0, 12), at(1, 0, 3))}, 6}, // 0 moved; 1 stuck
		{snapshot{"t": parts(partition{committed: noOffset}, at(2, 0, 3))}, 2},
	}
	for i, st := range steps {
		if got := cfg.lag(st.snap, prev); got != st.want {
			t.Errorf("step %d: lag %d, want %d", i, got, st.want)
		}
	}
}

func TestFactors(t *testing.T) {
	if got := factors(12); len(got) != 6 || got[0] != 1 || got[5] != 12 {
		t.Errorf("factors(12) = %v", got)
	}
	if got := factors(1); len(got) != 1 {
		t.Errorf("factors(1) = %v", got)
	}
}
