package kafka

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// BenchmarkMeasure reports Measure's p50/p99 (µs) and allocations against kfake in a
// child process on 127.0.0.1 (so only the trigger's own CPU and allocations count):
// a topic with 12 partitions and committed offsets.
func BenchmarkMeasure(b *testing.B) {
	harness.Integration(b)
	ctx := context.Background()
	k, err := brokers.StartKafkaProcess(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer k.Stop()
	admin := &kafkago.Client{Addr: kafkago.TCP(k.Addr), Timeout: 5 * time.Second, Transport: &kafkago.Transport{}}
	defer admin.Transport.(*kafkago.Transport).CloseIdleConnections()
	if _, err := admin.CreateTopics(ctx, &kafkago.CreateTopicsRequest{Topics: []kafkago.TopicConfig{{Topic: "bench", NumPartitions: 12, ReplicationFactor: 1}}}); err != nil {
		b.Fatal(err)
	}
	f := &fixture{t: b, topic: "bench", group: "bench-group", client: admin, k: &brokers.Kafka{Addr: k.Addr}}
	for p := 0; p < 12; p++ {
		f.produce(f.topic, p, 10)
	}
	f.commit(f.topic, map[int]int64{0: 5, 1: 5, 2: 5, 3: 0, 4: 0, 5: 0, 6: 0, 7: 0, 8: 0, 9: 0, 10: 0, 11: 0})
	p := NewPool(logr.Discard())
	defer p.Close()
	s := f.build(p, nil, nil)
	if v, err := s.Measure(ctx); err != nil || v != 120-15 {
		b.Fatalf("Measure = %v, %v; want 105", v, err)
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
}
