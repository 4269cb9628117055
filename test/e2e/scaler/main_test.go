// Package scaler holds surge-scaler's end-to-end tests on the embedded control plane
// (test/harness): a real kube-apiserver, kube-controller-manager (HPA, deployment,
// replicaset, GC) and scheduler, the generated CRDs, and surge-scaler either
// in-process (with the fake trigger source) or as a process built from
// cmd/surge-scaler (fault tests: SIGKILL and restart, leader election).
package scaler

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

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
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // every test skips itself under -short
	}
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, file, _, _ := runtime.Caller(0)
	env.root = filepath.Join(filepath.Dir(file), "..", "..", "..")
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	cl, err := harness.StartCluster(ctx, harness.ClusterOptions{Dir: os.Getenv("SURGE_E2E_DIR")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e/scaler: cannot start the control plane (build it with `make controlplane`): %v\n", err)
		return 1
	}
	defer cl.Stop()
	env.cluster, env.cfg = cl, rest.CopyConfig(cl.Config)
	env.cfg.QPS, env.cfg.Burst = 500, 1000
	if env.c, err = client.New(env.cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := installCRDs(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "e2e/scaler: install CRDs: %v\n", err)
		return 1
	}
	for _, ns := range []string{nsInProcess, nsInvalid, nsSystem} {
		if err := env.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	stop, err := startInProcess(ctx)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e/scaler: start surge-scaler: %v\n", err)
		return 1
	}
	code := m.Run()
	stop()
	return code
}

// installCRDs applies charts/surge-scaler/crds and waits until they are served.
func installCRDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(env.root, "charts", "surge-scaler", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs under charts/surge-scaler/crds (run make generate): %v", err)
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if err := env.c.Create(ctx, crd); err != nil {
			return fmt.Errorf("create %s: %w", crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, n := range names {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := env.c.Get(ctx, client.ObjectKey{Name: n}, crd); err != nil {
				return false, nil
			}
			established := false
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
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
	port, err := freePort()
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

var _ = logr.Discard

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
