package kafka

import (
	"testing"

	"github.com/segmentio/kafka-go/protocol"
	"github.com/segmentio/kafka-go/protocol/listoffsets"
)

func TestBatchedListOffsetsSplit(t *testing.T) {
	cluster := protocol.Cluster{Brokers: map[int32]protocol.Broker{1: {ID: 1}, 2: {ID: 2}}, Topics: map[string]protocol.Topic{
		"a": {Partitions: map[int32]protocol.Partition{0: {ID: 0, Leader: 1}, 1: {ID: 1, Leader: 2}, 2: {ID: 2, Leader: 1}}},
		"b": {Partitions: map[int32]protocol.Partition{0: {ID: 0, Leader: 2}}},
	}}
	part := func(id int32, ts int64) listoffsets.RequestPartition {
		return listoffsets.RequestPartition{Partition: id, CurrentLeaderEpoch: -1, Timestamp: ts}
	}
	req := &batchedListOffsets{listoffsets.Request{ReplicaID: -1, Topics: []listoffsets.RequestTopic{
		{Topic: "a", Partitions: []listoffsets.RequestPartition{part(0, lastOffset), part(0, firstOffset), part(1, lastOffset), part(2, lastOffset)}},
		{Topic: "b", Partitions: []listoffsets.RequestPartition{part(0, lastOffset)}},
		{Topic: "gone", Partitions: []listoffsets.RequestPartition{part(0, lastOffset)}},
	}}}
	msgs, merger, err := req.Split(cluster)
	if err != nil || merger == nil {
		t.Fatal(err)
	}
	// Groups: (-1,last) gone; (1,first) a0; (1,last) a0 a2; (2,last) a1 b0.
	want := []struct {
		leader  int32
		entries int
	}{{-1, 1}, {1, 1}, {1, 2}, {2, 2}}
	if len(msgs) != len(want) {
		t.Fatalf("%d requests, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		r := m.(*listoffsets.Request)
		n := 0
		seen := map[string]bool{}
		for _, tp := range r.Topics {
			for _, p := range tp.Partitions {
				n++
				k := tp.Topic + string(rune('0'+p.Partition))
				if seen[k] {
					t.Errorf("request %d asks %s twice", i, k)
				}
				seen[k] = true
			}
		}
		b, _ := r.Broker(cluster)
		if n != want[i].entries || (want[i].leader >= 0 && b.ID != want[i].leader) {
			t.Errorf("request %d: %d entries to broker %d, want %d to %d", i, n, b.ID, want[i].entries, want[i].leader)
		}
	}
}
