// Package smokee2e proves the path the whole product rests on, against the real
// control plane: an External metric served by a local custom-metrics-apiserver
// through the kube-apiserver aggregator drives a Deployment through the real HPA
// controller, and the real scheduler binds a pod that tolerates a taint to the
// tainted node.
package smokee2e

import (
	"context"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

// cluster is the package's control plane (HPA sync period 1 s).
var cluster *harness.Cluster

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{ControlPlane: true, Cluster: harness.ClusterOptions{HPASyncPeriod: time.Second}},
		func(_ context.Context, env *harness.Env) error {
			cluster = env.Cluster
			return nil
		})
}
