// Package triggers is the registry that lists every trigger type once, explicitly,
// and owns the shared broker connections of the triggers it builds (one RabbitMQ
// connection per broker, one Kafka transport per cluster, one HTTP transport per
// Prometheus TLS setting). surge-scaler's controller builds every trigger through one
// Registry ([Registry.Build], from its reconcile), hands each built Source to the
// sample store, and closes the Registry on shutdown.
package triggers

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/fake"
	"github.com/surge-autoscaler/surge/scaler/kafka"
	"github.com/surge-autoscaler/surge/scaler/prometheus"
	"github.com/surge-autoscaler/surge/scaler/rabbitmq"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Options configure a Registry.
type Options struct {
	// Fake, when set, enables trigger type "fake" backed by this Source (tests and
	// benchmarks only; production registries leave it nil).
	Fake *fake.Source
}

// Registry builds triggers by type. It implements trigger.Builder and is safe for
// concurrent use.
type Registry struct {
	rabbit *rabbitmq.Pool
	kafka  *kafka.Pool
	prom   *prometheus.Builder
	types  map[string]trigger.Builder

	mu     sync.RWMutex
	closed bool
}

var _ trigger.Builder = (*Registry)(nil)

// ErrClosed is returned by Build after Close.
var ErrClosed = errors.New("trigger registry closed")

// New returns a Registry with every supported trigger type.
func New(log logr.Logger, opts Options) *Registry {
	r := &Registry{
		rabbit: rabbitmq.NewPool(log.WithName("rabbitmq")),
		kafka:  kafka.NewPool(log.WithName("kafka")),
		prom:   prometheus.NewBuilder(),
	}
	r.types = map[string]trigger.Builder{
		rabbitmq.Type:   r.rabbit,
		"kafka":         r.kafka, // KEDA's sarama-based scaler
		"apache-kafka":  r.kafka, // KEDA's kafka-go based scaler: same keys here
		prometheus.Type: r.prom,
	}
	if opts.Fake != nil {
		r.types[fake.Type] = opts.Fake
	}
	return r
}

// Build builds the trigger spec describes and sets its Rule's metric type from
// spec.MetricType. An unknown type is a *decode.FieldError
// (key "type") listing the supported types.
func (r *Registry) Build(ctx context.Context, spec trigger.Spec) (*trigger.Built, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return nil, ErrClosed
	}
	b, ok := r.types[spec.Type]
	if !ok {
		return nil, &decode.FieldError{TriggerType: spec.Type, TriggerName: spec.Name, Key: "type", Value: spec.Type,
			Reason: "unknown or unsupported trigger type", Allowed: strings.Join(r.Types(), ", ")}
	}
	built, err := b.Build(ctx, spec)
	if err != nil {
		return nil, err
	}
	built.Rule.Type = trigger.MetricType(spec.MetricType)
	return built, nil
}

// Types returns the supported trigger types, sorted.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// RabbitMQStats reports the shared RabbitMQ connections (for metrics and benchmarks).
func (r *Registry) RabbitMQStats() rabbitmq.Stats { return r.rabbit.Stats() }

// Close closes every shared connection. Triggers built before fail afterwards;
// Build returns ErrClosed.
func (r *Registry) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	return errors.Join(r.rabbit.Close(), r.kafka.Close(), r.prom.Close())
}
