package worker

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// DefaultResultsQueue is where workers send records unless told otherwise.
const DefaultResultsQueue = "surge-bench-results"

// Config configures a worker. Every field has a flag whose default comes from an
// environment variable, so a pod manifest can configure the worker through env.
type Config struct {
	// Pod names this worker in its records (env POD_NAME, else the host name).
	Pod string
	// AMQPURL is the RabbitMQ broker (env AMQP_URL). With Kafka set it is used only
	// for the results queue.
	AMQPURL string
	// Queue is the RabbitMQ queue to consume (env QUEUE).
	Queue string
	// DeclareQueue declares Queue (durable, no arguments) before consuming
	// (env DECLARE_QUEUE, default true). Turn it off for queues with arguments.
	DeclareQueue bool
	// ResultsQueue receives the records (env RESULTS_QUEUE).
	ResultsQueue string
	// KafkaBrokers, comma-separated, selects the Kafka consumer (env KAFKA_BROKERS).
	KafkaBrokers []string
	// KafkaTopic and KafkaGroup: what to consume and as which group
	// (env KAFKA_TOPIC, KAFKA_GROUP).
	KafkaTopic string
	KafkaGroup string
	// ResultsTopic, with Kafka and no AMQPURL, receives the records as a Kafka topic
	// (env RESULTS_TOPIC).
	ResultsTopic string
	// WorkTime is spent on each message unless the message says otherwise
	// (env WORK_TIME, default 500ms).
	WorkTime time.Duration
	// Prefetch is the AMQP basic.qos prefetch count, or the Kafka reader's queue
	// capacity (env PREFETCH, default 1).
	Prefetch int
	// Concurrency is how many messages are worked on at once (AMQP only; env
	// CONCURRENCY, default 1). It is capped at Prefetch.
	Concurrency int
	// Grace is how long in-flight work may continue after a stop before it is given
	// back (env SHUTDOWN_GRACE, default 20s: below Kubernetes' default 30 s
	// terminationGracePeriodSeconds, so the requeue happens before the SIGKILL).
	Grace time.Duration

	envErrs []error // malformed environment values seen by AddFlags
}

// AddFlags registers the worker's flags on fs with defaults from the environment.
// Malformed environment values are reported by Validate.
func (c *Config) AddFlags(fs *pflag.FlagSet) {
	host, _ := os.Hostname()
	env := &envReader{}
	defer func() { c.envErrs = env.errs }()
	fs.StringVar(&c.Pod, "pod", envOr("POD_NAME", host), "name of this worker in its records (env POD_NAME)")
	fs.StringVar(&c.AMQPURL, "amqp-url", os.Getenv("AMQP_URL"), "RabbitMQ URL (env AMQP_URL)")
	fs.StringVar(&c.Queue, "queue", os.Getenv("QUEUE"), "RabbitMQ queue to consume (env QUEUE)")
	fs.BoolVar(&c.DeclareQueue, "declare-queue", env.bool("DECLARE_QUEUE", true), "declare the queue (durable) before consuming (env DECLARE_QUEUE)")
	fs.StringVar(&c.ResultsQueue, "results-queue", envOr("RESULTS_QUEUE", DefaultResultsQueue), "queue receiving records (env RESULTS_QUEUE)")
	fs.StringSliceVar(&c.KafkaBrokers, "kafka-brokers", splitList(os.Getenv("KAFKA_BROKERS")), "Kafka bootstrap servers; selects the Kafka consumer (env KAFKA_BROKERS)")
	fs.StringVar(&c.KafkaTopic, "kafka-topic", os.Getenv("KAFKA_TOPIC"), "Kafka topic to consume (env KAFKA_TOPIC)")
	fs.StringVar(&c.KafkaGroup, "kafka-group", envOr("KAFKA_GROUP", "surge-bench"), "Kafka consumer group (env KAFKA_GROUP)")
	fs.StringVar(&c.ResultsTopic, "results-topic", os.Getenv("RESULTS_TOPIC"), "Kafka topic receiving records when no AMQP URL is set (env RESULTS_TOPIC)")
	fs.DurationVar(&c.WorkTime, "work-time", env.duration("WORK_TIME", 500*time.Millisecond), "time spent per message (env WORK_TIME)")
	fs.IntVar(&c.Prefetch, "prefetch", env.int("PREFETCH", 1), "AMQP prefetch count / Kafka queue capacity (env PREFETCH)")
	fs.IntVar(&c.Concurrency, "concurrency", env.int("CONCURRENCY", 1), "messages worked on at once, AMQP only (env CONCURRENCY)")
	fs.DurationVar(&c.Grace, "grace", env.duration("SHUTDOWN_GRACE", 20*time.Second), "after SIGTERM, time in-flight work may finish before it is requeued (env SHUTDOWN_GRACE)")
}

// Validate checks c and fills derived defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Pod == "" {
		errs = append(errs, errors.New("--pod (POD_NAME) is empty"))
	}
	kafka := len(c.KafkaBrokers) > 0
	switch {
	case kafka && c.KafkaTopic == "":
		errs = append(errs, errors.New("--kafka-topic (KAFKA_TOPIC) is required with --kafka-brokers"))
	case kafka && c.AMQPURL == "" && c.ResultsTopic == "":
		errs = append(errs, errors.New("with Kafka, records need --amqp-url (results queue) or --results-topic"))
	case !kafka && c.AMQPURL == "":
		errs = append(errs, errors.New("--amqp-url (AMQP_URL) or --kafka-brokers (KAFKA_BROKERS) is required"))
	case !kafka && c.Queue == "":
		errs = append(errs, errors.New("--queue (QUEUE) is required"))
	}
	if c.AMQPURL != "" && c.ResultsQueue == "" {
		errs = append(errs, errors.New("--results-queue is empty"))
	}
	if c.WorkTime < 0 {
		errs = append(errs, fmt.Errorf("--work-time %v is negative", c.WorkTime))
	}
	if c.Grace < 0 {
		errs = append(errs, fmt.Errorf("--grace %v is negative", c.Grace))
	}
	if c.Prefetch < 1 || c.Prefetch > 65535 {
		errs = append(errs, fmt.Errorf("--prefetch %d is outside 1..65535", c.Prefetch))
	}
	if c.Concurrency < 1 {
		errs = append(errs, fmt.Errorf("--concurrency %d is below 1", c.Concurrency))
	}
	if c.Concurrency > c.Prefetch {
		c.Concurrency = c.Prefetch
	}
	errs = append(errs, c.envErrs...)
	return errors.Join(errs...)
}

// envReader reads typed environment values and collects the malformed ones.
type envReader struct{ errs []error }

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

func (e *envReader) int(key string, def int) int {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("env %s=%q is not an integer", key, v))
		return def
	}
	return n
}

func (e *envReader) bool(key string, def bool) bool {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("env %s=%q is not a boolean", key, v))
		return def
	}
	return b
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("env %s=%q is not a duration (e.g. 500ms)", key, v))
		return def
	}
	return d
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
