// Package harness gives tests, benchmarks and the demo a real Kubernetes control plane
// on 127.0.0.1: the surge-controlplane binary built from the upstream modules in the
// separate module test/controlplane. The binary is built once per machine into a
// cache directory outside the repository (keyed by a hash of its sources) and reused;
// each StartCluster runs a fresh cluster in its own directory on free ports, so
// several can run side by side.
//
// Every integration test package has the same TestMain, [Main]: it handles -short
// (integration tests skip themselves through [Integration]), starts what the
// package's [Needs] name once (the control plane, brokers), stops them on exit and
// checks for leaked goroutines. Under CI=true a missing component or privilege fails
// the test ([Missing]), never skips it.
//
// The helpers tests share are written here once: condition waits ([Eventually],
// [Until]), CRD installation ([Cluster.InstallCRDs]), free ports ([FreePort]),
// building and running a binary ([GoBuild], [StartProcess]) with a kubeconfig of a
// ServiceAccount ([Cluster.ServiceAccountKubeconfig]) or a user
// ([Cluster.UserKubeconfig]).
//
// Broker helpers (RabbitMQ, a Kafka-protocol broker, Prometheus) live in
// test/harness/brokers.
package harness
