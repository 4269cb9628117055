package kafka

import (
	"context"
	"fmt"
	"sort"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

// Timestamps of ListOffsets: the log start and the high watermark.
const (
	firstOffset = -2
	lastOffset  = -1
)

// batchedListOffsets is a ListOffsets request that the shared transport splits into
// one request per partition leader and timestamp (Kafka refuses a partition twice in
// one request). kafka-go's own ListOffsets sends one request per partition and
// timestamp: 24 round trips for 12 partitions, where this sends 1 or 2 per leader.
type batchedListOffsets struct {
	listoffsets.Request
}

var _ protocol.Splitter = (*batchedListOffsets)(nil)

// Split groups the partitions by leader and timestamp.
func (b *batchedListOffsets) Split(cluster protocol.Cluster) ([]protocol.Message, protocol.Merger, error) {
	type group struct {
		leader int32
		ts     int64
	}
	groups := map[group]map[string][]listoffsets.RequestPartition{}
	for _, t := range b.Topics {
		for _, p := range t.Partitions {
			leader := int32(-1)
			if tp, ok := cluster.Topics[t.Topic].Partitions[p.Partition]; ok {
				leader = tp.Leader
			}
			g := group{leader, p.Timestamp}
			if groups[g] == nil {
				groups[g] = map[string][]listoffsets.RequestPartition{}
			}
			groups[g][t.Topic] = append(groups[g][t.Topic], p)
		}
	}
	keys := make([]group, 0, len(groups))
	for g := range groups {
		keys = append(keys, g)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].leader < keys[j].leader || keys[i].leader == keys[j].leader && keys[i].ts < keys[j].ts
	})
	msgs := make([]protocol.Message, 0, len(keys))
	for _, g := range keys {
		req := &listoffsets.Request{ReplicaID: -1, IsolationLevel: b.IsolationLevel}
		topics := make([]string, 0, len(groups[g]))
		for t := range groups[g] {
			topics = append(topics, t)
		}
		sort.Strings(topics)
		for _, t := range topics {
			req.Topics = append(req.Topics, listoffsets.RequestTopic{Topic: t, Partitions: groups[g][t]})
		}
		msgs = append(msgs, req)
	}
	return msgs, new(listoffsets.Response), nil
}

// listOffsets returns the high watermark (and, when firstToo, the log start) of
// every partition in parts.
func (s *Source) listOffsets(ctx context.Context, parts map[string][]int, firstToo bool) (map[string][]kafkago.PartitionOffsets, error) {
	req := &batchedListOffsets{listoffsets.Request{ReplicaID: -1}}
	for t, ids := range parts {
		rt := listoffsets.RequestTopic{Topic: t}
		for _, id := range ids {
			rt.Partitions = append(rt.Partitions, listoffsets.RequestPartition{Partition: int32(id), CurrentLeaderEpoch: -1, Timestamp: lastOffset})
			if firstToo {
				rt.Partitions = append(rt.Partitions, listoffsets.RequestPartition{Partition: int32(id), CurrentLeaderEpoch: -1, Timestamp: firstOffset})
			}
		}
		req.Topics = append(req.Topics, rt)
	}
	m, err := s.tr.t.RoundTrip(ctx, s.client.Addr, req)
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	res, ok := m.(*listoffsets.Response)
	if !ok {
		return nil, fmt.Errorf("list offsets: unexpected answer %T", m)
	}
	byPartition := map[string]map[int]*kafkago.PartitionOffsets{}
	for _, t := range res.Topics {
		if byPartition[t.Topic] == nil {
			byPartition[t.Topic] = map[int]*kafkago.PartitionOffsets{}
		}
		for _, p := range t.Partitions {
			if p.ErrorCode != 0 {
				return nil, fmt.Errorf("list offsets topic %q partition %d: %w", t.Topic, p.Partition, kafkago.Error(p.ErrorCode))
			}
			po := byPartition[t.Topic][int(p.Partition)]
			if po == nil {
				po = &kafkago.PartitionOffsets{Partition: int(p.Partition), FirstOffset: 0, LastOffset: -1}
				byPartition[t.Topic][int(p.Partition)] = po
			}
			switch p.Timestamp {
			case firstOffset:
				po.FirstOffset = p.Offset
			case lastOffset:
				po.LastOffset = p.Offset
			}
		}
	}
	out := map[string][]kafkago.PartitionOffsets{}
	for t, ps := range byPartition {
		for _, po := range ps {
			if po.LastOffset >= 0 {
				out[t] = append(out[t], *po)
			}
		}
	}
	return out, nil
}
