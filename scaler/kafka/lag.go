package kafka

import "slices"

// noOffset marks a partition without a committed offset (Kafka answers -1; kfake
// answers GROUP_ID_NOT_FOUND for a group that never committed, read as -1 too).
const noOffset = -1

// partition is what the broker said about one partition.
type partition struct {
	committed int64 // noOffset when the group has no commit
	first     int64 // log start offset
	last      int64 // high watermark
	known     bool  // ListOffsets answered for it
}

// snapshot is one measurement's offsets by topic and partition.
type snapshot map[string]map[int]partition

// lag computes the trigger's value from a snapshot with KEDA 2.21's rules, noting
// where surge differs (each difference keeps the number true or the activation
// honest, since activation reads this same number):
//
//   - No committed offset, offsetResetPolicy latest: lag 1 (0 with
//     scaleToZeroOnInvalidOffset), so one consumer starts and commits.
//   - No committed offset, earliest: the whole retained log, high watermark − log
//     start (KEDA: the high watermark; equal until retention deletes records), or 0
//     with scaleToZeroOnInvalidOffset.
//   - Otherwise high watermark − committed, never negative (KEDA lets a commit
//     beyond the high watermark, e.g. after a topic was recreated, subtract).
//   - A partition ListOffsets did not answer counts 0 (as KEDA).
//   - excludePersistentLag: a partition whose commit has not moved since the previous
//     Measure counts 0. KEDA still activates on it; here activation reads this number,
//     so such a partition alone does not keep the target active.
//   - Unless allowIdleConsumers, the value is capped at partitions × lagThreshold
//     (partitions with lag × lagThreshold under limitToPartitionsWithLag), compared
//     exactly (KEDA compares lag/threshold with integer division, which lets the HPA
//     go one replica past the partition count).
//   - ensureEvenDistributionOfPartitions rounds the value up to the next factor of
//     the partition count × lagThreshold, except that 0 stays 0 (KEDA rounds 0 up to
//     one factor and relies on a separate activity flag to allow scale to zero).
//
// prev holds the committed offsets of the previous call; lag updates it.
func (c *Config) lag(s snapshot, prev map[string]map[int]int64) int64 {
	var total, partitions, withLag int64
	for topic, parts := range s {
		for id, p := range parts {
			l := c.partitionLag(p)
			if c.ExcludePersistentLag && p.committed != noOffset {
				if prev[topic] == nil {
					prev[topic] = map[int]int64{}
				}
				if before, ok := prev[topic][id]; ok && before == p.committed {
					l = 0
				}
				prev[topic][id] = p.committed
			}
			total += l
			partitions++
			if l > 0 {
				withLag++
			}
		}
	}
	if c.AllowIdleConsumers && !c.LimitToPartitionsWithLag && !c.EnsureEvenDistributionOfPartitions {
		return total
	}
	upper := partitions
	if c.EnsureEvenDistributionOfPartitions && total > 0 {
		total = nextFactor(total, partitions, c.LagThreshold) * c.LagThreshold
	}
	if c.LimitToPartitionsWithLag {
		upper = withLag
	}
	if total > upper*c.LagThreshold {
		total = upper * c.LagThreshold
	}
	return total
}

func (c *Config) partitionLag(p partition) int64 {
	if p.committed == noOffset {
		switch {
		case c.ScaleToZeroOnInvalidOffset:
			return 0
		case c.OffsetResetPolicy == "latest":
			return 1
		case !p.known:
			return 0
		}
		return max(p.last-p.first, 0)
	}
	if !p.known {
		return 0
	}
	return max(p.last-p.committed, 0)
}

// nextFactor returns the smallest factor f of partitions with f × threshold ≥ lag,
// or partitions if none is.
func nextFactor(lag, partitions, threshold int64) int64 {
	for _, f := range factors(partitions) {
		if f*threshold >= lag {
			return f
		}
	}
	return partitions
}

// factors returns the divisors of n in ascending order.
func factors(n int64) []int64 {
	var out []int64
	for i := int64(1); i*i <= n; i++ {
		if n%i == 0 {
			out = append(out, i)
			if i != n/i {
				out = append(out, n/i)
			}
		}
	}
	slices.Sort(out)
	return out
}
