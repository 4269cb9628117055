package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// AMQPDepth measures a queue's ready messages with a passive declare on a throwaway
// channel, so a missing queue (404 closes the channel) never breaks the connection.
// It redials when the connection drops.
type AMQPDepth struct {
	url, queue string

	mu   sync.Mutex
	conn *amqp.Connection
}

// NewAMQPDepth returns a depth probe for queue on url. It dials lazily.
func NewAMQPDepth(url, queue string) *AMQPDepth {
	return &AMQPDepth{url: url, queue: queue}
}

// Depth returns the number of ready messages in the queue.
func (d *AMQPDepth) Depth(ctx context.Context) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if d.conn == nil || d.conn.IsClosed() {
		conn, err := amqp.DialConfig(d.url, amqp.Config{
			Properties: amqp.Table{"connection_name": "surge-bench-watch"},
			Heartbeat:  10 * time.Second,
			Locale:     "en_US",
		})
		if err != nil {
			return 0, fmt.Errorf("dial broker: %w", err)
		}
		d.conn = conn
	}
	ch, err := d.conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("open channel: %w", err)
	}
	defer func() { _ = ch.Close() }()
	q, err := ch.QueueDeclarePassive(d.queue, false, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("passive declare of queue %q: %w", d.queue, err)
	}
	return q.Messages, nil
}

// Close closes the connection.
func (d *AMQPDepth) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.conn == nil {
		return nil
	}
	err := d.conn.Close()
	d.conn = nil
	if err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("close connection: %w", err)
	}
	return nil
}

// ConsumeRecords consumes the results queue until ctx ends, passing each valid record
// to add. Records are acknowledged after add returns. It declares the queue (durable)
// and reconnects with back-off; malformed records are dropped.
func ConsumeRecords(ctx context.Context, url, queue string, add func(wire.Record)) error {
	backoff := 100 * time.Millisecond
	for {
		err := consumeRecordsOnce(ctx, url, queue, add)
		if ctx.Err() != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
		_ = err // the caller sees the effect (records stop arriving); retrying is the remedy
	}
}

func consumeRecordsOnce(ctx context.Context, url, queue string, add func(wire.Record)) error {
	conn, err := amqp.DialConfig(url, amqp.Config{
		Properties: amqp.Table{"connection_name": "surge-bench-records"},
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
	})
	if err != nil {
		return fmt.Errorf("dial broker: %w", err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare results queue %q: %w", queue, err)
	}
	if err := ch.Qos(1000, 0, false); err != nil {
		return fmt.Errorf("set prefetch: %w", err)
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume results queue %q: %w", queue, err)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("results consumer closed")
			}
			if rec, err := wire.DecodeRecord(d.Body); err == nil {
				add(rec)
			}
			_ = d.Ack(false)
		}
	}
}

// PurgeQueue removes every ready message from queue (declaring it durable first) and
// returns how many it removed.
func PurgeQueue(url, queue string) (int, error) {
	conn, err := amqp.Dial(url)
	if err != nil {
		return 0, fmt.Errorf("dial broker: %w", err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("open channel: %w", err)
	}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
		return 0, fmt.Errorf("declare queue %q: %w", queue, err)
	}
	n, err := ch.QueuePurge(queue, false)
	if err != nil {
		return 0, fmt.Errorf("purge queue %q: %w", queue, err)
	}
	return n, nil
}
