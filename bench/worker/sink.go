package worker

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/surge-autoscaler/surge/bench/amqpconfirm"
	"github.com/surge-autoscaler/surge/bench/kafkawriter"
	"github.com/surge-autoscaler/surge/bench/wire"
)

// AMQPSink publishes records to a durable queue with publisher confirms (an
// [amqpconfirm.Publisher]).
type AMQPSink struct {
	pub *amqpconfirm.Publisher
}

var _ Sink = (*AMQPSink)(nil)

// NewAMQPSink opens a channel on conn in confirm mode and declares queue (durable).
func NewAMQPSink(conn *amqp.Connection, queue string) (*AMQPSink, error) {
	pub, err := amqpconfirm.Open(conn, queue, true)
	if err != nil {
		return nil, fmt.Errorf("results queue: %w", err)
	}
	return &AMQPSink{pub: pub}, nil
}

// Send publishes rec persistently and waits for the broker's confirm.
func (s *AMQPSink) Send(ctx context.Context, rec wire.Record) error {
	if err := s.pub.Send(ctx, rec.ID, rec.EndTime(), wire.Encode(rec)); err != nil {
		return fmt.Errorf("send record: %w", err)
	}
	return nil
}

// Close closes the sink's channel.
func (s *AMQPSink) Close() error {
	if err := s.pub.Close(); err != nil {
		return fmt.Errorf("results queue: %w", err)
	}
	return nil
}

// KafkaSink writes records to a Kafka topic, waiting for all in-sync replicas.
type KafkaSink struct {
	w *kafkawriter.Writer
}

var _ Sink = (*KafkaSink)(nil)

// NewKafkaSink returns a sink writing to topic on brokers.
func NewKafkaSink(brokers []string, topic string) *KafkaSink {
	return &KafkaSink{w: kafkawriter.New(brokers, topic, 2*time.Millisecond, nil)}
}

// Send writes rec synchronously.
func (s *KafkaSink) Send(ctx context.Context, rec wire.Record) error {
	if err := s.w.Write(ctx, rec.ID, wire.Encode(rec), time.Time{}); err != nil {
		return fmt.Errorf("record: %w", err)
	}
	return nil
}

// Close flushes and closes the writer and its connections.
func (s *KafkaSink) Close() error { return s.w.Close() }
