package triggers

import (
	"context"
	"errors"
	"maps"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

type m = map[string]string

func TestTypes(t *testing.T) {
	cases := []struct {
		name string
		opts Options
		want string
	}{
		{"production", Options{}, "apache-kafka kafka prometheus rabbitmq"},
		{"with the fake", Options{Fake: fake.NewSource()}, "apache-kafka fake kafka prometheus rabbitmq"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := New(logr.Discard(), tc.opts)
			defer r.Close()
			if got := strings.Join(r.Types(), " "); got != tc.want {
				t.Errorf("Types = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	r := New(logr.Discard(), Options{Fake: fake.NewSource()})
	defer r.Close()
	cases := []struct {
		name    string
		spec    trigger.Spec
		hint    string
		wantErr string
	}{
		{"rabbitmq", trigger.Spec{Type: "rabbitmq", Metadata: m{"host": "amqp://h/", "queueName": "q"}}, "rabbitmq-q", ""},
		{"kafka", trigger.Spec{Type: "kafka", Metadata: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "topic": "t"}}, "kafka-t", ""},
		{"apache-kafka", trigger.Spec{Type: "apache-kafka", Metadata: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "topic": "t"}}, "kafka-t", ""},
		{"prometheus", trigger.Spec{Type: "prometheus", Metadata: m{"serverAddress": "http://p:9090", "query": "up", "threshold": "1"}}, "prometheus", ""},
		{"fake", trigger.Spec{Type: "fake", Metadata: m{"name": "x"}}, "fake-x", ""},
		{"unknown type", trigger.Spec{Type: "redis", Name: "r1", Metadata: m{}}, "",
			`redis trigger "r1": key "type": value "redis": unknown or unsupported trigger type; allowed: apache-kafka, fake, kafka, prometheus, rabbitmq`},
		{"bad metadata", trigger.Spec{Type: "kafka", Name: "k", Metadata: m{"consumerGroup": "g"}}, "", `kafka trigger "k": key "bootstrapServers": is required`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := maps.Clone(tc.spec.Metadata)
			tr, err := r.Build(context.Background(), tc.spec)
			if !maps.Equal(before, tc.spec.Metadata) {
				t.Errorf("Build modified the metadata: %v", tc.spec.Metadata)
			}
			if tc.wantErr != "" {
				var fe *decode.FieldError
				if err == nil || err.Error() != tc.wantErr && !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &fe) {
					t.Fatalf("err = %v, want a FieldError %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Source.Close()
			if tr.MetricHint != tc.hint || tr.Rule.Target <= 0 {
				t.Errorf("trigger %+v", tr)
			}
		})
	}
}

func TestFakeOnlyWhenEnabled(t *testing.T) {
	r := New(logr.Discard(), Options{})
	defer r.Close()
	if _, err := r.Build(context.Background(), trigger.Spec{Type: "fake", Metadata: m{"name": "x"}}); err == nil {
		t.Error("a production registry built a fake trigger")
	}
}

func TestClose(t *testing.T) {
	src := fake.NewSource()
	r := New(logr.Discard(), Options{Fake: src})
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Build(context.Background(), trigger.Spec{Type: "fake", Metadata: m{"name": "x"}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Build after Close: %v", err)
	}
}
