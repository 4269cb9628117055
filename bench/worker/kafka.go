package worker

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-logr/logr"
	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/segmentio/kafka-go"
	"k8s.io/utils/clock"
)

// KafkaWorker consumes a Kafka topic as a member of a consumer group, one message at
// a time, committing each offset after the message's record was written.
type KafkaWorker struct {
	cfg   Config
	log   logr.Logger
	clock clock.WithTicker
}

// NewKafkaWorker returns a Kafka worker using clk for work timing.
func NewKafkaWorker(cfg Config, log logr.Logger, clk clock.WithTicker) *KafkaWorker {
	return &KafkaWorker{cfg: cfg, log: log, clock: clk}
}

// Run consumes until ctx ends. A message in flight at stop is finished within Grace
// or left uncommitted for the partition's next owner.
func (w *KafkaWorker) Run(ctx context.Context) error {
	sink, closeSink, err := w.sink()
	if err != nil {
		return err
	}
	defer closeSink()

	r := w.reader()
	defer func() {
		if err := r.Close(); err != nil {
			w.log.Info("Closing Kafka reader failed", "err", err.Error())
		}
	}()
	w.log.Info("Consuming", "topic", w.cfg.KafkaTopic, "group", w.cfg.KafkaGroup, "workTime", w.cfg.WorkTime)

	p := &processor{pod: w.cfg.Pod, workTime: w.cfg.WorkTime, sink: sink, clock: w.clock,
		timers: w.clock, log: w.log, sendTimeout: 10 * time.Second}
	stop := make(chan struct{})
	abort, release := graceSignal(w.clock, stop, w.cfg.Grace)
	defer release()
	go func() {
		<-ctx.Done()
		close(stop)
	}()
	return w.consume(ctx, r, p, abort)
}

// reader returns a reader of the topic as a member of the consumer group, committing
// synchronously.
func (w *KafkaWorker) reader() *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:        w.cfg.KafkaBrokers,
		GroupID:        w.cfg.KafkaGroup,
		Topic:          w.cfg.KafkaTopic,
		QueueCapacity:  w.cfg.Prefetch,
		MinBytes:       1,
		MaxBytes:       10 << 20,
		MaxWait:        250 * time.Millisecond,
		StartOffset:    kafka.FirstOffset,
		CommitInterval: 0, // synchronous commits
		// Leave the group quickly on Close so the partitions move to other members.
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
	})
}

// consume processes messages one at a time, committing each after its record was
// written, until ctx ends (nil) or a message cannot be finished or committed.
func (w *KafkaWorker) consume(ctx context.Context, r *kafka.Reader, p *processor, abort <-chan struct{}) error {
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch from topic %q: %w", w.cfg.KafkaTopic, err)
		}
		res := p.process(abort, Delivery{Body: m.Value, MessageID: string(m.Key)})
		if res == Requeue {
			// Not committing is how Kafka gives a message back: stop, so that the
			// partition's next owner (or this worker, restarted) starts from it.
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("record for offset %d of partition %d not written, left uncommitted", m.Offset, m.Partition)
		}
		cctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = r.CommitMessages(cctx, m)
		cancel()
		if err != nil {
			return fmt.Errorf("commit offset %d of partition %d: %w", m.Offset, m.Partition, err)
		}
	}
}

func (w *KafkaWorker) sink() (Sink, func(), error) {
	if w.cfg.AMQPURL == "" {
		s := NewKafkaSink(w.cfg.KafkaBrokers, w.cfg.ResultsTopic)
		return s, func() { _ = s.Close() }, nil
	}
	conn, err := amqp.Dial(w.cfg.AMQPURL)
	if err != nil {
		return nil, nil, fmt.Errorf("dial results broker: %w", redactURL(err, w.cfg.AMQPURL))
	}
	s, err := NewAMQPSink(conn, w.cfg.ResultsQueue)
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return s, func() { _ = s.Close(); _ = conn.Close() }, nil
}

// redactURL returns err with rawURL's password replaced, so credentials never reach a
// log or an error string.
func redactURL(err error, rawURL string) error {
	u, perr := url.Parse(rawURL)
	if perr != nil || u.User == nil {
		return err
	}
	pw, ok := u.User.Password()
	if !ok || pw == "" || !strings.Contains(err.Error(), pw) {
		return err
	}
	return &redactedError{msg: strings.ReplaceAll(err.Error(), pw, "xxxxx"), err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
