// Command bench-worker is the worker that Surge's bench and demo run in burst pods: it
// consumes a RabbitMQ queue (or a Kafka topic), spends a configured time on each
// message, and reports a record per message to a results queue. SIGTERM stops it
// gracefully: in-flight work finishes within --grace or is given back to the broker.
//
// Every flag has an environment variable (see --help), so a pod manifest configures it
// through env.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/bench/worker"
)

func main() {
	var cfg worker.Config
	fs := pflag.NewFlagSet("bench-worker", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if err == pflag.ErrHelp {
			return
		}
		os.Exit(2)
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(os.Stderr, "bench-worker: %v\n", err)
		os.Exit(2)
	}
	log := klog.Background().WithValues("pod", cfg.Pod)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := worker.New(cfg, log).Run(ctx); err != nil {
		log.Error(err, "Worker failed")
		klog.Flush()
		os.Exit(1)
	}
	log.Info("Worker stopped")
	klog.Flush()
}
