package brokers

import (
	"context"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/surge-autoscaler/surge/test/harness"
)

// NeedRabbitMQ is a harness.Component: one private RabbitMQ node for the package,
// stored in *node once it is ready.
func NeedRabbitMQ(node **RabbitMQ) harness.Component {
	return harness.Component{Name: "RabbitMQ", Start: func(ctx context.Context) (func() error, error) {
		r, err := StartRabbitMQ(ctx, "")
		if err != nil {
			return nil, err
		}
		*node = r
		return r.Stop, nil
	}}
}

// NeedKafka is a harness.Component: one in-process Kafka-protocol broker (kfake)
// for the package, started with opts and stored in *broker.
func NeedKafka(broker **Kafka, opts ...kfake.Opt) harness.Component {
	return harness.Component{Name: "Kafka (kfake)", Start: func(ctx context.Context) (func() error, error) {
		k, err := StartKafka(ctx, opts...)
		if err != nil {
			return nil, err
		}
		*broker = k
		return k.Stop, nil
	}}
}

// NeedPrometheus is a harness.Component: one private Prometheus server for the
// package, scraping the targets (host:port) that targets returns when it starts
// (so an earlier Component may start the exporter), stored in *server.
func NeedPrometheus(server **Prometheus, targets func() []string) harness.Component {
	return harness.Component{Name: "Prometheus", Start: func(ctx context.Context) (func() error, error) {
		p, err := StartPrometheus(ctx, "", targets())
		if err != nil {
			return nil, err
		}
		*server = p
		return p.Stop, nil
	}}
}
