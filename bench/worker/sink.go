package worker

import (
	"context"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/segmentio/kafka-go"

	"github.com/surge-autoscaler/surge/bench/amqpconfirm"
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
	w *kafka.Writer
	// t is the writer's own connection pool, closed with it (kafka-go's default
	// transport keeps its pools, and their goroutines, for the life of the process).
	t *kafka.Transport
}

var _ Sink = (*KafkaSink)(nil)

// NewKafkaSink returns a sink writing to topic on brokers.
func NewKafkaSink(brokers []string, topic string) *KafkaSink {
	t := &kafka.Transport{}
	return &KafkaSink{t: t, w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond, // the default 1 s would delay every record
		AllowAutoTopicCreation: true,
		Transport:              t,
	}}
}

// Send writes rec synchronously.
func (s *KafkaSink) Send(ctx context.Context, rec wire.Record) error {
	if err := s.w.WriteMessages(ctx, kafka.Message{Key: []byte(rec.ID), Value: wire.Encode(rec)}); err != nil {
		return fmt.Errorf("write record %q: %w", rec.ID, err)
	}
	return nil
}

// Close flushes and closes the writer and its connections.
func (s *KafkaSink) Close() error {
	err := s.w.Close()
	s.t.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("close record writer: %w", err)
	}
	return nil
}
