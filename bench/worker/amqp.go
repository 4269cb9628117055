package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	amqp "github.com/rabbitmq/amqp091-go"
	"k8s.io/utils/clock"
)

// Worker consumes until its context ends, then shuts down gracefully.
type Worker interface {
	Run(ctx context.Context) error
}

// New returns the worker selected by cfg (Kafka when KafkaBrokers is set, else
// RabbitMQ). cfg must have passed Validate.
func New(cfg Config, log logr.Logger) Worker {
	if len(cfg.KafkaBrokers) > 0 {
		return &KafkaWorker{cfg: cfg, log: log, clock: clock.RealClock{}}
	}
	return &AMQPWorker{cfg: cfg, log: log, clock: clock.RealClock{}}
}

// AMQPWorker consumes a RabbitMQ queue. It reconnects with back-off when the
// connection drops and returns nil after a graceful stop.
type AMQPWorker struct {
	cfg   Config
	log   logr.Logger
	clock clock.WithTicker
}

// NewAMQPWorker returns a RabbitMQ worker using clk for work timing.
func NewAMQPWorker(cfg Config, log logr.Logger, clk clock.WithTicker) *AMQPWorker {
	return &AMQPWorker{cfg: cfg, log: log, clock: clk}
}

// Run consumes until ctx ends.
func (w *AMQPWorker) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for {
		start := w.clock.Now()
		err := w.session(ctx)
		if errors.Is(err, errStopped) || ctx.Err() != nil {
			return nil
		}
		if w.clock.Since(start) > 10*time.Second {
			backoff = 100 * time.Millisecond
		}
		w.log.Info("Connection to broker lost, reconnecting", "err", err.Error(), "backoff", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-w.clock.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// session runs one connection's life. It returns errStopped after a graceful stop.
func (w *AMQPWorker) session(ctx context.Context) error {
	conn, err := amqp.DialConfig(w.cfg.AMQPURL, amqp.Config{
		Properties: amqp.Table{"connection_name": "surge-bench-worker " + w.cfg.Pod},
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
	})
	if err != nil {
		return fmt.Errorf("dial broker: %w", redactURL(err, w.cfg.AMQPURL))
	}
	defer func() { _ = conn.Close() }()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	sink, err := NewAMQPSink(conn, w.cfg.ResultsQueue)
	if err != nil {
		return err
	}
	defer func() { _ = sink.Close() }()

	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("open channel: %w", err)
	}
	if err := ch.Qos(w.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("set prefetch %d: %w", w.cfg.Prefetch, err)
	}
	if w.cfg.DeclareQueue {
		if _, err := ch.QueueDeclare(w.cfg.Queue, true, false, false, false, nil); err != nil {
			return fmt.Errorf("declare queue %q: %w", w.cfg.Queue, err)
		}
	}
	tag := "surge-bench-worker-" + w.cfg.Pod
	deliveries, err := ch.Consume(w.cfg.Queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume queue %q: %w", w.cfg.Queue, err)
	}
	w.log.Info("Consuming", "queue", w.cfg.Queue, "prefetch", w.cfg.Prefetch,
		"concurrency", w.cfg.Concurrency, "workTime", w.cfg.WorkTime)

	p := &processor{pod: w.cfg.Pod, workTime: w.cfg.WorkTime, sink: sink, clock: w.clock,
		timers: w.clock, log: w.log, sendTimeout: 10 * time.Second}
	c := &amqpConsumer{w: w, ch: ch, tag: tag, p: p, stop: make(chan struct{}),
		sem: make(chan struct{}, w.cfg.Concurrency), ctxDone: ctx.Done()}
	abort, release := graceSignal(w.clock, c.stop, w.cfg.Grace)
	defer release()
	c.abort = abort
	return c.consume(deliveries, closed)
}

// amqpConsumer is one session's consumer: it runs up to Concurrency deliveries at once
// and, once the worker's context ends, stops as the package doc describes.
type amqpConsumer struct {
	w     *AMQPWorker
	ch    *amqp.Channel
	tag   string
	p     *processor
	stop  chan struct{}   // closed when stopping begins
	abort <-chan struct{} // closed when the grace period is over
	sem   chan struct{}   // one token per delivery being processed
	wg    sync.WaitGroup  // deliveries being processed
	// stopping is set, and ctxDone cleared, when stopping begins.
	stopping bool
	ctxDone  <-chan struct{}
}

// consume dispatches deliveries until the consumer or the connection ends, then waits
// for the deliveries in flight. It returns errStopped after a graceful stop.
func (c *amqpConsumer) consume(deliveries <-chan amqp.Delivery, closed <-chan *amqp.Error) error {
	defer c.wg.Wait()
	for {
		select {
		case <-c.ctxDone:
			c.beginStop()
		case err := <-closed:
			if err == nil {
				return c.finish(errors.New("connection closed"))
			}
			return c.finish(err)
		case d, ok := <-deliveries:
			if !ok {
				return c.finish(errors.New("consumer cancelled by the broker"))
			}
			c.dispatch(d)
		}
	}
}

// beginStop closes stop and cancels the consumer.
func (c *amqpConsumer) beginStop() {
	c.stopping = true
	c.ctxDone = nil
	close(c.stop)
	c.w.log.Info("Stopping: cancelling consumer, finishing in-flight work", "grace", c.w.cfg.Grace)
	// Cancel waits for cancel-ok; deliveries already on the wire keep arriving on
	// the deliveries channel (buffered by the client) until it closes.
	go func() {
		if err := c.ch.Cancel(c.tag, false); err != nil {
			c.w.log.Info("Cancel consumer failed", "err", err.Error())
		}
	}()
}

// finish waits for the deliveries in flight and returns errStopped if stopping had
// begun, else cause.
func (c *amqpConsumer) finish(cause error) error {
	c.wg.Wait()
	if c.stopping {
		return errStopped
	}
	return cause
}

// dispatch processes d in its own goroutine once a concurrency slot is free. A
// delivery that arrives while stopping, or while waiting for a slot when stopping
// begins, is given back without being started.
func (c *amqpConsumer) dispatch(d amqp.Delivery) {
	if c.stopping {
		_ = d.Nack(false, true) // prefetched, never started: give it back
		return
	}
	select {
	case c.sem <- struct{}{}:
	case <-c.ctxDone:
		c.beginStop()
		_ = d.Nack(false, true)
		return
	}
	c.wg.Go(func() {
		defer func() { <-c.sem }()
		res := c.p.process(c.abort, Delivery{Body: d.Body, MessageID: d.MessageId, Redelivered: d.Redelivered})
		c.settle(d, res)
	})
}

// settle acks, requeues or rejects d as res says.
func (c *amqpConsumer) settle(d amqp.Delivery, res Result) {
	var err error
	switch res {
	case Ack:
		err = d.Ack(false)
	case Requeue:
		err = d.Nack(false, true)
	case Drop:
		err = d.Reject(false)
	}
	if err != nil {
		c.w.log.Info("Settling delivery failed", "result", res.String(), "err", err.Error())
	}
}
