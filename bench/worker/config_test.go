package worker

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestConfigFromEnv(t *testing.T) {
	t.Setenv("POD_NAME", "w-1")
	t.Setenv("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
	t.Setenv("QUEUE", "jobs")
	t.Setenv("WORK_TIME", "250ms")
	t.Setenv("PREFETCH", "4")
	t.Setenv("CONCURRENCY", "8")
	var c Config
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	c.AddFlags(fs)
	if err := fs.Parse([]string{"--grace=3s"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Pod != "w-1" || c.Queue != "jobs" || c.WorkTime != 250*time.Millisecond || c.Prefetch != 4 ||
		c.Grace != 3*time.Second || c.ResultsQueue != DefaultResultsQueue || !c.DeclareQueue {
		t.Fatalf("config = %+v", c)
	}
	if c.Concurrency != 4 {
		t.Fatalf("concurrency = %d, want capped at prefetch 4", c.Concurrency)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		return Config{Pod: "p", AMQPURL: "amqp://x", Queue: "q", ResultsQueue: "r", Prefetch: 1, Concurrency: 1}
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string
	}{
		{name: "valid amqp", mutate: func(*Config) {}},
		{name: "no broker", mutate: func(c *Config) { c.AMQPURL = "" }, wantErr: "--amqp-url"},
		{name: "no queue", mutate: func(c *Config) { c.Queue = "" }, wantErr: "--queue"},
		{name: "kafka without topic", mutate: func(c *Config) { c.KafkaBrokers = []string{"k:9092"} }, wantErr: "--kafka-topic"},
		{name: "kafka without results", mutate: func(c *Config) {
			c.KafkaBrokers, c.KafkaTopic, c.AMQPURL = []string{"k:9092"}, "t", ""
		}, wantErr: "records need"},
		{name: "kafka with results topic", mutate: func(c *Config) {
			c.KafkaBrokers, c.KafkaTopic, c.AMQPURL, c.ResultsTopic = []string{"k:9092"}, "t", "", "res"
		}},
		{name: "negative work", mutate: func(c *Config) { c.WorkTime = -1 }, wantErr: "--work-time"},
		{name: "zero prefetch", mutate: func(c *Config) { c.Prefetch = 0 }, wantErr: "--prefetch"},
		{name: "zero concurrency", mutate: func(c *Config) { c.Concurrency = 0 }, wantErr: "--concurrency"},
		{name: "empty pod", mutate: func(c *Config) { c.Pod = "" }, wantErr: "--pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestConfigBadEnv(t *testing.T) {
	t.Setenv("WORK_TIME", "soon")
	t.Setenv("PREFETCH", "many")
	var c Config
	c.AddFlags(pflag.NewFlagSet("t", pflag.ContinueOnError))
	c.AMQPURL, c.Queue = "amqp://x", "q"
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "WORK_TIME") || !strings.Contains(err.Error(), "PREFETCH") {
		t.Fatalf("err = %v, want both bad env values named", err)
	}
}
