// Package brokers starts private, loopback-only brokers for integration tests,
// benchmarks and the demo: a RabbitMQ node with the management plugin (Debian
// package rabbitmq-server), a Kafka-protocol broker (kfake, in process) and a
// Prometheus server (Debian package prometheus). Each instance listens on free ports
// on 127.0.0.1 only, keeps its state under its own directory, and on Stop ends only
// the processes it started (by process group id), so several may run at once.
//
// A missing binary is an error that says how to install it; callers fail with it,
// never skip.
//
// A test package that needs one broker for all its tests names it in its
// harness.Main: harness.Needs{Components: []harness.Component{NeedRabbitMQ(&node)}}
// (NeedKafka, NeedPrometheus); the harness starts it once and stops it on exit.
package brokers
