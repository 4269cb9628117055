package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/segmentio/kafka-go"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// AMQPSink publishes records to a durable queue with publisher confirms.
type AMQPSink struct {
	ch    *amqp.Channel
	queue string
}

var _ Sink = (*AMQPSink)(nil)

// NewAMQPSink opens a channel on conn in confirm mode and declares queue (durable).
func NewAMQPSink(conn *amqp.Connection, queue string) (*AMQPSink, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open results channel: %w", err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("declare results queue %q: %w", queue, err)
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode on results channel: %w", err)
	}
	return &AMQPSink{ch: ch, queue: queue}, nil
}

// Send publishes rec persistently and waits for the broker's confirm.
func (s *AMQPSink) Send(ctx context.Context, rec wire.Record) error {
	dc, err := s.ch.PublishWithDeferredConfirmWithContext(ctx, "", s.queue, false, false, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    rec.ID,
		Timestamp:    time.Unix(0, rec.End),
		Body:         wire.Encode(rec),
	})
	if err != nil {
		return fmt.Errorf("publish record %q: %w", rec.ID, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("confirm of record %q: %w", rec.ID, err)
	}
	if !ok {
		return fmt.Errorf("broker nacked record %q", rec.ID)
	}
	return nil
}

// Close closes the sink's channel.
func (s *AMQPSink) Close() error {
	if err := s.ch.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("close results channel: %w", err)
	}
	return nil
}

// KafkaSink writes records to a Kafka topic, waiting for all in-sync replicas.
type KafkaSink struct {
	w *kafka.Writer
}

var _ Sink = (*KafkaSink)(nil)

// NewKafkaSink returns a sink writing to topic on brokers.
func NewKafkaSink(brokers []string, topic string) *KafkaSink {
	return &KafkaSink{w: &kafka.Writer{
		Addr:                   kafka.TCP(brokers...),
		Topic:                  topic,
		RequiredAcks:           kafka.RequireAll,
		BatchTimeout:           2 * time.Millisecond, // the default 1 s would delay every record
		AllowAutoTopicCreation: true,
	}}
}

// Send writes rec synchronously.
func (s *KafkaSink) Send(ctx context.Context, rec wire.Record) error {
	if err := s.w.WriteMessages(ctx, kafka.Message{Key: []byte(rec.ID), Value: wire.Encode(rec)}); err != nil {
		return fmt.Errorf("write record %q: %w", rec.ID, err)
	}
	return nil
}

// Close flushes and closes the writer.
func (s *KafkaSink) Close() error {
	if err := s.w.Close(); err != nil {
		return fmt.Errorf("close record writer: %w", err)
	}
	return nil
}
