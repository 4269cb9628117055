// Package scalerbench benchmarks surge-scaler against the embedded control plane
// (test/harness): 1,000 and 5,000 ScaledObjects on fake triggers at pollingInterval
// 1 s (CPU, RSS, reconcile time of a spec change, poll-loop jitter), and 100
// simultaneous bursts (time until every target left zero, and the kube-apiserver CPU
// attributable to surge-scaler at steady state).
//
//	go test -run '^$' -bench . -benchtime 20x -timeout 60m ./bench/scaler/
//
// Nothing here runs without -bench: TestMain starts the control plane only then.
package scalerbench

import (
	"context"
	"os"
	"testing"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

var benv struct {
	cluster *harness.Cluster
	cfg     *rest.Config
	c       client.Client
	bin     string
}

var scheme = k8sruntime.NewScheme()

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{
		ControlPlane: true, Cluster: harness.ClusterOptions{Dir: os.Getenv("SURGE_BENCH_DIR")},
		OnlyForBenchmarks: true,
	}, setup)
}

// setup installs the CRDs and builds surge-scaler.
func setup(ctx context.Context, env *harness.Env) error {
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	ctrllog.SetLogger(logr.Discard())
	benv.cluster = env.Cluster
	benv.cfg = rest.CopyConfig(env.Cluster.Config)
	benv.cfg.QPS, benv.cfg.Burst = 1000, 2000
	var err error
	if benv.c, err = client.New(benv.cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := env.Cluster.InstallCRDs(ctx); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "surge-scaler-bench-")
	if err != nil {
		return err
	}
	harness.AtExit("surge-scaler binary", func() error { return os.RemoveAll(dir) })
	benv.bin, err = harness.GoBuild(ctx, dir, "./cmd/surge-scaler")
	return err
}
