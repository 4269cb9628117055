// Package harness gives tests, benchmarks and the demo a real Kubernetes control plane
// on 127.0.0.1: the surge-controlplane binary built from the upstream modules in the
// separate module test/controlplane. The binary is built once per machine into a
// cache directory outside the repository (keyed by a hash of its sources) and reused;
// each StartCluster runs a fresh cluster in its own directory on free ports, so
// several can run side by side.
//
// Broker helpers (RabbitMQ, a Kafka-protocol broker, Prometheus) live in
// test/harness/brokers.
package harness

import "testing"

// Integration marks a test as an integration or end-to-end test: it is skipped under
// `go test -short` (the unit-test pass) and runs otherwise. A test that needs a
// component which is missing must fail with a message that says how to get it, never
// skip.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
}
