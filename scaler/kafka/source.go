package kafka

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// DefaultTimeout bounds a measurement when the caller's context has no deadline.
const DefaultTimeout = 5 * time.Second

// Source measures one kafka trigger's consumer lag.
type Source struct {
	cfg    Config
	pool   *Pool
	tr     *transport
	client *kafkago.Client

	mu        sync.Mutex // guards prev; Measure is called from one goroutine at a time
	prev      map[string]map[int]int64
	closeOnce sync.Once
}

var _ trigger.Source = (*Source)(nil)

// Measure returns the consumer group's lag per the trigger's rules (see lag).
func (s *Source) Measure(ctx context.Context) (float64, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	snap, err := s.snapshot(ctx)
	if err != nil {
		return 0, fmt.Errorf("kafka group %q: %w", s.cfg.ConsumerGroup, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return float64(s.cfg.lag(snap, s.prev)), nil
}

// snapshot reads partitions, committed offsets and log offsets.
func (s *Source) snapshot(ctx context.Context) (snapshot, error) {
	topics := s.cfg.Topic
	var committed map[string][]kafkago.OffsetFetchPartition
	if len(topics) == 0 {
		var err error
		if topics, err = s.groupTopics(ctx); err != nil {
			return nil, err
		}
		if len(topics) == 0 {
			return snapshot{}, nil
		}
	}
	parts, err := s.partitions(ctx, topics)
	if err != nil {
		return nil, err
	}
	var (
		wg       sync.WaitGroup
		offsets  map[string][]kafkago.PartitionOffsets
		offErr   error
		fetchErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The log start matters only to partitions without a commit under earliest.
		firstToo := s.cfg.OffsetResetPolicy == "earliest" && !s.cfg.ScaleToZeroOnInvalidOffset
		offsets, offErr = s.listOffsets(ctx, parts, firstToo)
	}()
	committed, fetchErr = s.fetchCommitted(ctx, parts)
	wg.Wait()
	if err := errors.Join(fetchErr, offErr); err != nil {
		return nil, err
	}
	return merge(parts, committed, offsets), nil
}

// groupTopics returns, for a trigger without topic, the topics the group has
// committed offsets for and those its live members subscribe to (KEDA's rule). A
// group that cannot be described (e.g. a non-consumer protocol) contributes its
// committed topics only.
func (s *Source) groupTopics(ctx context.Context) ([]string, error) {
	set := map[string]bool{}
	committed, err := s.fetchCommitted(ctx, nil)
	if err != nil {
		return nil, err
	}
	for t := range committed {
		set[t] = true
	}
	res, err := s.client.DescribeGroups(ctx, &kafkago.DescribeGroupsRequest{GroupIDs: []string{s.cfg.ConsumerGroup}})
	if err == nil {
		for _, g := range res.Groups {
			for _, m := range g.Members {
				for _, t := range m.MemberMetadata.Topics {
					set[t] = true
				}
				for _, a := range m.MemberAssignments.Topics {
					set[a.Topic] = true
				}
			}
		}
	} else {
		s.pool.log.V(1).Info("kafka group not described; using its committed topics", "group", s.cfg.ConsumerGroup, "error", err.Error())
	}
	topics := make([]string, 0, len(set))
	for t := range set {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return topics, nil
}

// partitions returns each topic's partitions within partitionLimitation.
func (s *Source) partitions(ctx context.Context, topics []string) (map[string][]int, error) {
	md, err := s.client.Metadata(ctx, &kafkago.MetadataRequest{Topics: topics})
	if err != nil {
		return nil, err
	}
	out := map[string][]int{}
	for _, t := range md.Topics {
		if t.Error != nil {
			return nil, fmt.Errorf("topic %q: %w", t.Name, t.Error)
		}
		var ids []int
		for _, p := range t.Partitions {
			if s.cfg.active(p.ID) {
				ids = append(ids, p.ID)
			}
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("topic %q: no partition within partitionLimitation %q", t.Name, s.cfg.PartitionLimitation)
		}
		out[t.Name] = ids
	}
	for _, t := range topics {
		if _, ok := out[t]; !ok {
			return nil, fmt.Errorf("topic %q: not in the cluster's metadata", t)
		}
	}
	return out, nil
}

// fetchCommitted returns the group's committed offsets (of every topic when parts is
// nil). A group that does not exist has none: real Kafka answers -1 per partition,
// kfake GROUP_ID_NOT_FOUND; both read as "no committed offset".
func (s *Source) fetchCommitted(ctx context.Context, parts map[string][]int) (map[string][]kafkago.OffsetFetchPartition, error) {
	res, err := s.client.OffsetFetch(ctx, &kafkago.OffsetFetchRequest{GroupID: s.cfg.ConsumerGroup, Topics: parts})
	if err != nil {
		return nil, err
	}
	if res.Error != nil {
		if errors.Is(res.Error, kafkago.GroupIdNotFound) {
			return nil, nil
		}
		return nil, fmt.Errorf("offset fetch: %w", res.Error)
	}
	for t, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				return nil, fmt.Errorf("offset fetch topic %q partition %d: %w", t, p.Partition, p.Error)
			}
		}
	}
	return res.Topics, nil
}

// merge builds the snapshot; partitions missing from OffsetFetch have no commit.
func merge(parts map[string][]int, committed map[string][]kafkago.OffsetFetchPartition, offsets map[string][]kafkago.PartitionOffsets) snapshot {
	snap := snapshot{}
	for t, ids := range parts {
		snap[t] = map[int]partition{}
		for _, id := range ids {
			snap[t][id] = partition{committed: noOffset}
		}
	}
	for t, ps := range committed {
		for _, p := range ps {
			if cur, ok := snap[t][p.Partition]; ok {
				cur.committed = p.CommittedOffset
				if cur.committed < 0 {
					cur.committed = noOffset
				}
				snap[t][p.Partition] = cur
			}
		}
	}
	for t, ps := range offsets {
		for _, p := range ps {
			if cur, ok := snap[t][p.Partition]; ok {
				cur.first, cur.last, cur.known = p.FirstOffset, p.LastOffset, true
				snap[t][p.Partition] = cur
			}
		}
	}
	return snap
}

// Close releases the Source's share of its transport; closing twice is harmless.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { s.pool.release(s.tr) })
	return nil
}
