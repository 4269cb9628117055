package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/segmentio/kafka-go"

	"github.com/surge-autoscaler/surge/bench/amqpconfirm"
	"github.com/surge-autoscaler/surge/bench/kafkawriter"
	"github.com/surge-autoscaler/surge/bench/wire"
)

// AMQPPublisher publishes persistent messages to one queue through the default
// exchange, on a channel in confirm mode (an [amqpconfirm.Publisher] on its own
// connection).
type AMQPPublisher struct {
	conn *amqp.Connection
	pub  *amqpconfirm.Publisher
}

var _ Publisher = (*AMQPPublisher)(nil)

// DialAMQP connects to url and returns a publisher for queue. With declare set it
// declares queue (durable, no arguments) first.
func DialAMQP(url, queue string, declare bool) (*AMQPPublisher, error) {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Properties: amqp.Table{"connection_name": "surge-bench-loadgen"},
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
	})
	if err != nil {
		return nil, fmt.Errorf("dial broker: %w", err)
	}
	pub, err := amqpconfirm.Open(conn, queue, declare)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return &AMQPPublisher{conn: conn, pub: pub}, nil
}

// Publish sends m persistently with its id as the AMQP message-id.
func (p *AMQPPublisher) Publish(ctx context.Context, m wire.Message) (Confirm, error) {
	c, err := p.pub.Publish(ctx, m.ID, m.SentTime(), wire.Encode(m))
	if err != nil {
		return nil, err
	}
	return Confirm(c), nil
}

// Purge removes every ready message from the queue and returns how many it removed.
func (p *AMQPPublisher) Purge() (int, error) {
	return p.pub.Purge()
}

// Close closes the connection.
func (p *AMQPPublisher) Close() error {
	if err := p.conn.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("close connection: %w", err)
	}
	return nil
}

// KafkaPublisher produces messages to one topic, keyed by message id. Kafka has no
// deferred confirms in kafka-go's synchronous writer, so Publish writes and waits for
// the acknowledgement of all in-sync replicas; the returned Confirm is already done.
type KafkaPublisher struct {
	w *kafkawriter.Writer
}

var _ Publisher = (*KafkaPublisher)(nil)

// NewKafkaPublisher returns a publisher for topic on brokers.
func NewKafkaPublisher(brokers []string, topic string) *KafkaPublisher {
	return &KafkaPublisher{w: kafkawriter.New(brokers, topic, time.Millisecond, &kafka.Hash{})}
}

// Publish writes m and waits for the broker's acknowledgement.
func (p *KafkaPublisher) Publish(ctx context.Context, m wire.Message) (Confirm, error) {
	if err := p.w.Write(ctx, m.ID, wire.Encode(m), m.SentTime()); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	return func(context.Context) error { return nil }, nil
}

// Close flushes and closes the writer and its connections.
func (p *KafkaPublisher) Close() error { return p.w.Close() }
