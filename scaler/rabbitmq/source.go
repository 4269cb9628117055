package rabbitmq

import (
	"context"
	"fmt"
	"sync"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Source measures one rabbitmq trigger over its Pool's shared connection.
type Source struct {
	cfg  Config
	pool *Pool
	amqp *amqpBroker
	http *httpBroker

	closeOnce sync.Once
}

var _ trigger.Source = (*Source)(nil)

// Measure returns the queue's depth or rate per the trigger's mode. It honours ctx's
// deadline, tightened by the trigger's timeout; with neither, DefaultTimeout applies.
func (s *Source) Measure(ctx context.Context) (float64, error) {
	ctx, cancel := s.deadline(ctx)
	defer cancel()
	if s.amqp != nil {
		q, err := s.amqp.declarePassive(ctx, s.cfg.QueueName)
		if err != nil {
			return 0, fmt.Errorf("rabbitmq: %w", err)
		}
		return float64(q.Messages), nil
	}
	qs, err := s.http.fetch(ctx, &s.cfg)
	if err != nil {
		return 0, fmt.Errorf("rabbitmq: %w", err)
	}
	return s.cfg.combine(qs), nil
}

func (s *Source) deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	d := s.cfg.Timeout
	if d == 0 {
		if _, ok := ctx.Deadline(); ok {
			return ctx, func() {}
		}
		d = DefaultTimeout
	}
	return context.WithTimeout(ctx, d)
}

// Close releases the Source's share of its connection; the last share closes it.
// Closing twice is harmless.
func (s *Source) Close() error {
	s.closeOnce.Do(func() {
		if s.amqp != nil {
			s.pool.releaseAMQP(s.amqp)
		}
		if s.http != nil {
			s.pool.releaseHTTP(s.http)
		}
	})
	return nil
}
