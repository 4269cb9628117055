// Package amqpconfirm publishes persistent JSON messages to one RabbitMQ queue through
// the default exchange, on a channel in publisher-confirm mode. The load generator
// (bench/loadgen) publishes work items with it and the bench worker (bench/worker) its
// records; both count a message as sent only once the broker has confirmed it.
//
// It lives in its own package rather than in bench/wire because wire holds formats
// only and does no I/O; loadgen and worker both import it, and it imports neither.
package amqpconfirm

import (
	"context"
	"errors"
	"fmt"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// Publisher publishes to one queue on a channel in confirm mode. Publish may be called
// from one goroutine while another waits for earlier Confirms.
type Publisher struct {
	ch    channel
	queue string
}

// Confirm waits for the broker's confirm of one message. An error means the broker did
// not take it: it nacked the message, or the wait ended first (ctx done, channel or
// connection closed).
type Confirm func(ctx context.Context) error

// Open opens a channel on conn for queue, declares queue first (durable, no arguments)
// when declare is set, and puts the channel in confirm mode. On error the channel is
// closed; conn always stays the caller's to close.
func Open(conn *amqp.Connection, queue string, declare bool) (*Publisher, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	return open(amqpChannel{ch}, queue, declare)
}

func open(ch channel, queue string, declare bool) (*Publisher, error) {
	if declare {
		if _, err := ch.QueueDeclare(queue, true, false, false, false, nil); err != nil {
			_ = ch.Close()
			return nil, fmt.Errorf("declare queue %q: %w", queue, err)
		}
	}
	if err := ch.Confirm(false); err != nil {
		_ = ch.Close()
		return nil, fmt.Errorf("confirm mode: %w", err)
	}
	return &Publisher{ch: ch, queue: queue}, nil
}

// Publish sends body (JSON) persistently with id as the AMQP message-id and at as its
// timestamp. It does not wait for the broker's confirm; the returned Confirm does.
func (p *Publisher) Publish(ctx context.Context, id string, at time.Time, body []byte) (Confirm, error) {
	c, err := p.ch.publish(ctx, p.queue, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    id,
		Timestamp:    at,
		Body:         body,
	})
	if err != nil {
		return nil, fmt.Errorf("publish %q: %w", id, err)
	}
	return func(ctx context.Context) error {
		ok, err := c.WaitContext(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("confirm of %q: %w", id, err)
		case !ok:
			return fmt.Errorf("broker nacked %q", id)
		}
		return nil
	}, nil
}

// Send publishes like Publish and waits for the confirm under the same ctx.
func (p *Publisher) Send(ctx context.Context, id string, at time.Time, body []byte) error {
	c, err := p.Publish(ctx, id, at, body)
	if err != nil {
		return err
	}
	return c(ctx)
}

// Purge removes every ready message from the queue and returns how many it removed.
func (p *Publisher) Purge() (int, error) {
	n, err := p.ch.QueuePurge(p.queue, false)
	if err != nil {
		return 0, fmt.Errorf("purge queue %q: %w", p.queue, err)
	}
	return n, nil
}

// Close closes the channel; a channel already closed (with its connection, say) is not
// an error.
func (p *Publisher) Close() error {
	if err := p.ch.Close(); err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("close channel: %w", err)
	}
	return nil
}

// channel is the part of *amqp.Channel a Publisher uses, so tests can fake the broker.
type channel interface {
	QueueDeclare(name string, durable, autoDelete, exclusive, noWait bool, args amqp.Table) (amqp.Queue, error)
	Confirm(noWait bool) error
	QueuePurge(name string, noWait bool) (int, error)
	Close() error
	// publish sends msg to queue through the default exchange, neither mandatory nor
	// immediate, and returns what waits for its confirm.
	publish(ctx context.Context, queue string, msg amqp.Publishing) (confirmation, error)
}

// confirmation is the part of *amqp.DeferredConfirmation a Confirm waits on.
type confirmation interface {
	WaitContext(ctx context.Context) (bool, error)
}

// amqpChannel adapts *amqp.Channel to channel.
type amqpChannel struct{ *amqp.Channel }

func (c amqpChannel) publish(ctx context.Context, queue string, msg amqp.Publishing) (confirmation, error) {
	dc, err := c.PublishWithDeferredConfirmWithContext(ctx, "", queue, false, false, msg)
	if err != nil {
		return nil, err
	}
	return dc, nil
}
