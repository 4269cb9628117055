package charts_test

import (
	"context"
	"testing"

	"github.com/surge-autoscaler/surge/test/harness"
)

// cluster is the package's control plane; nil under -short (unit tests only).
var cluster *harness.Cluster

// TestMain starts one control plane for the package's integration tests, unless
// -short asks for unit tests only.
func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{ControlPlane: true}, func(_ context.Context, env *harness.Env) error {
		cluster = env.Cluster
		return nil
	})
}
