// Package smoke proves the path the whole product rests on, against the real control
// plane: an External metric served by a local custom-metrics-apiserver through the
// kube-apiserver aggregator drives a Deployment through the real HPA controller, and
// the real scheduler binds a pod that tolerates a taint to the tainted node.
package smoke

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

var cluster *harness.Cluster

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test here is an integration test and skips itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var err error
	cluster, err = harness.StartCluster(ctx, harness.ClusterOptions{HPASyncPeriod: time.Second})
	if err != nil {
		fmt.Fprintf(os.Stderr, "smoke: %v\n", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "smoke: stop cluster: %v\n", err)
		}
	}()
	return m.Run()
}
