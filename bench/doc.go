// Package bench measures Surge end to end from the outside: a burst of messages goes
// into a queue and the harness watches the queue depth, the scale target's
// spec.replicas, the pods and the records the workers send back, then reports how long
// each phase took (burst → detected → desired replicas → pods scheduled → Running →
// first message done → queue drained → back to zero).
//
// Subpackages:
//
//   - bench/wire: the message and record formats shared by the load generator, the
//     worker and the watcher.
//   - bench/worker: the worker that burst pods run (RabbitMQ and Kafka consumers).
//   - bench/amqpconfirm: the persistent, confirmed AMQP publisher the load generator
//     and the worker share; bench/kafkawriter: the synchronous Kafka writer they share.
//   - bench/loadgen: publishes bursts, steady rates and ramps with confirms.
//   - bench/watch: the watcher that records what happened during a run.
//   - bench/report: phase statistics, the table, JSON and the timeline PNG.
//   - bench/scenarios: the scenarios (manifests + load) that `surge bench` runs.
//   - bench/run: runs one scenario against a cluster and a broker.
//   - bench/stack: starts the local stack (control plane, RabbitMQ, surge-scaler,
//     surge-vnode) for `surge demo` and `surge bench`.
package bench
