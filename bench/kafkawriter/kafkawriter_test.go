package kafkawriter

import (
	"context"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"
)

// TestWriteAcknowledgedAndClosed writes to an in-process Kafka-protocol broker
// (kfake), reads the messages back and checks that Close leaves no goroutine of the
// writer's connection pool behind.
func TestWriteAcknowledgedAndClosed(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx := context.Background()
	at := time.Date(2026, 12, 8, 10, 0, 0, 0, time.UTC)
	w := New(c.ListenAddrs(), "jobs", time.Millisecond, &kafka.Hash{})
	for _, k := range []string{"a", "b"} {
		if err := w.Write(ctx, k, []byte("value-"+k), at); err != nil {
			t.Fatalf("Write %s: %v", k, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got := readAll(t, c.ListenAddrs(), "jobs", 2)
	if got["a"] != "value-a" || got["b"] != "value-b" {
		t.Fatalf("read back %v, want both messages", got)
	}
}

// readAll reads n messages of topic's partition 0 and returns them by key.
func readAll(t *testing.T, brokers []string, topic string, n int) map[string]string {
	t.Helper()
	conn, err := kafka.DialLeader(context.Background(), "tcp", brokers[0], topic, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A hang guard, not a bound on speed: the messages were acknowledged before.
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	batch := conn.ReadBatch(1, 1<<20)
	defer batch.Close()
	out := map[string]string{}
	for len(out) < n {
		m, err := batch.ReadMessage()
		if err != nil {
			t.Fatalf("read after %d messages: %v", len(out), err)
		}
		out[string(m.Key)] = string(m.Value)
	}
	return out
}
