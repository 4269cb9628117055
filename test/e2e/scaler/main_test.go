// Package scalere2e holds surge-scaler's end-to-end tests on the embedded control
// plane (test/harness): a real kube-apiserver, kube-controller-manager (HPA,
// deployment, replicaset, GC) and scheduler, the generated CRDs, and surge-scaler
// either in-process (with the fake trigger source) or as a process built from
// cmd/surge-scaler (fault tests: SIGKILL and restart, leader election).
package scalere2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/surge-autoscaler/surge/cmd/surge-scaler/app"
	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/fake"
	"github.com/surge-autoscaler/surge/test/harness"
)

// Namespaces: the in-process surge-scaler watches nsInProcess and nsInvalid; fault
// tests run surge-scaler processes that watch only their own namespaces.
const (
	nsInProcess = "e2e"
	nsInvalid   = "e2e-invalid"
	nsSystem    = "surge-system"
)

var env struct {
	cluster *harness.Cluster
	cfg     *rest.Config
	c       client.Client
	fake    *fake.Source
	reg     *prometheus.Registry
	api     *metricsapi.Server
	root    string
}

var scheme = k8sruntime.NewScheme()

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{ControlPlane: true, Cluster: harness.ClusterOptions{Dir: os.Getenv("SURGE_E2E_DIR")}}, setup)
}

// setup installs the CRDs and the namespaces and starts the in-process surge-scaler.
func setup(ctx context.Context, h *harness.Env) error {
	var err error
	if env.root, err = harness.RepoRoot(); err != nil {
		return err
	}
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			return err
		}
	}
	env.cluster, env.cfg = h.Cluster, rest.CopyConfig(h.Cluster.Config)
	env.cfg.QPS, env.cfg.Burst = 500, 1000
	if env.c, err = client.New(env.cfg, client.Options{Scheme: scheme}); err != nil {
		return err
	}
	if err := env.cluster.InstallCRDs(ctx); err != nil {
		return err
	}
	for _, ns := range []string{nsInProcess, nsInvalid, nsSystem} {
		if err := env.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}
	stop, err := startInProcess(ctx)
	if err != nil {
		return fmt.Errorf("start surge-scaler: %w", err)
	}
	harness.AtExit("surge-scaler (in-process)", func() error { stop(); return nil })
	return nil
}

// startInProcess runs surge-scaler in this process on the fake trigger source,
// with its metrics API registered through the aggregator.
func startInProcess(ctx context.Context) (func(), error) {
	env.fake = fake.NewSource()
	env.reg = prometheus.NewRegistry()
	o := app.NewOptions()
	o.Fake = env.fake
	o.WatchNamespaces = []string{nsInProcess, nsInvalid}
	o.ClusterObjectNamespace = nsSystem
	o.MetricsBindAddress, o.HealthProbeBindAddress = "0", "0"
	o.Kubeconfig = env.cluster.Kubeconfig
	o.LastActiveRefresh = 30 * time.Second
	o.MetricsAPIOptions.Adapter.SecureServing.BindAddress = []byte{127, 0, 0, 1}
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	o.MetricsAPIOptions.Adapter.SecureServing.BindPort = port
	o.MetricsAPIOptions.ServiceNamespace = nsSystem
	apiCh := make(chan *metricsapi.Server, 1)
	o.OnMetricsAPI = func(s *metricsapi.Server) { apiCh <- s }
	o.Ready = make(chan struct{})
	if v := os.Getenv("SURGE_E2E_V"); v != "" {
		var fs flag.FlagSet
		klog.InitFlags(&fs)
		_ = fs.Set("v", v)
	}
	klog.LogToStderr(false)
	klog.SetOutput(logFile("surge-scaler-inprocess.log"))
	log := klog.NewKlogr().WithName("surge-scaler")
	ctrllog.SetLogger(log)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- app.RunWithConfig(rctx, o, env.cluster.Config, env.reg, log) }()
	select {
	case <-o.Ready:
	case err := <-done:
		cancel()
		return nil, err
	case <-time.After(2 * time.Minute):
		cancel()
		return nil, errors.New("surge-scaler caches did not sync in 2 minutes")
	}
	env.api = <-apiCh
	if err := registerMetricsAPI(ctx, env.api); err != nil {
		cancel()
		return nil, err
	}
	return func() { cancel(); <-done }, nil
}

func logFile(name string) *os.File {
	f, err := os.Create(filepath.Join(env.cluster.Dir, name))
	if err != nil {
		return os.Stderr
	}
	return f
}
