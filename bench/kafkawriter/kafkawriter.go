// Package kafkawriter is the synchronous Kafka writer the load generator and the
// worker's results sink share: each write waits for the acknowledgement of all
// in-sync replicas, topics are created on first use, and the writer owns its
// connection pool and closes it with itself (kafka-go's default transport keeps its
// pools, and their goroutines, for the life of the process).
package kafkawriter

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Writer writes messages to one topic. It is safe for concurrent use.
type Writer struct {
	w *kafka.Writer
	t *kafka.Transport
}

// New returns a Writer to topic on brokers. batch bounds how long a write waits for
// others to share its request (kafka-go's default of 1 s would delay every
// synchronous write); balancer picks the partition (nil: round robin).
func New(brokers []string, topic string, batch time.Duration, balancer kafka.Balancer) *Writer {
	t := &kafka.Transport{}
	return &Writer{t: t, w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		Balancer:               balancer,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           batch,
		AllowAutoTopicCreation: true,
		Transport:              t,
	}}
}

// Write writes one message with key and value (and at as its time, if not zero) and
// waits until the brokers acknowledged it.
func (w *Writer) Write(ctx context.Context, key string, value []byte, at time.Time) error {
	if err := w.w.WriteMessages(ctx, kafka.Message{Key: []byte(key), Value: value, Time: at}); err != nil {
		return fmt.Errorf("write %q: %w", key, err)
	}
	return nil
}

// Close flushes and closes the writer and its connections.
func (w *Writer) Close() error {
	err := w.w.Close()
	w.t.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close writer: %w", err)
	}
	return nil
}
