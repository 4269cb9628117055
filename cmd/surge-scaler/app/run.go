package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/controller"
	"github.com/surge-autoscaler/surge/scaler/fake"
	"github.com/surge-autoscaler/surge/scaler/store"
	"github.com/surge-autoscaler/surge/scaler/triggers"
)

// Run runs surge-scaler until ctx ends, with the kubeconfig from o (or in-cluster).
func Run(ctx context.Context, o *Options, log logr.Logger) error {
	var cfg *rest.Config
	var err error
	if o.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	return RunWithConfig(ctx, o, cfg, nil, log)
}

// RunWithConfig runs surge-scaler on cfg until ctx ends. reg receives the Prometheus
// series; nil means controller-runtime's registry (served on /metrics). In-process
// tests pass their own registry so several runs can share a process.
func RunWithConfig(ctx context.Context, o *Options, cfg *rest.Config, reg prometheus.Registerer, log logr.Logger) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if reg == nil {
		reg = ctrlmetrics.Registry
	}
	clk := o.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	mgr, err := newManager(o, cfg, log)
	if err != nil {
		return err
	}
	st, closeScaler, err := addScaler(ctx, mgr, o, cfg, clk, reg, log)
	if err != nil {
		return err
	}
	defer closeScaler()
	if o.MetricsAPI {
		if err := addMetricsAPI(mgr, o, st, log); err != nil {
			return err
		}
	}
	if err := addProbes(mgr, o); err != nil {
		return err
	}
	log.Info("starting", "leaderElect", o.LeaderElect, "metricsAPI", o.MetricsAPI, "scaleQPS", o.ScaleQPS, "kubeAPIQPS", o.KubeAPIQPS)
	return mgr.Start(ctx)
}

// newManager returns the controller-runtime manager: Kubernetes' and Surge's types,
// the metrics and probe endpoints, leader election, and the cache (restricted to the
// watched namespaces, if any), on a copy of cfg with the main client's rate limits.
func newManager(o *Options, cfg *rest.Config, log logr.Logger) (manager.Manager, error) {
	mainCfg := rest.CopyConfig(cfg)
	mainCfg.QPS, mainCfg.Burst, mainCfg.UserAgent = o.KubeAPIQPS, o.KubeAPIBurst, "surge-scaler"
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	skip := true
	mopts := manager.Options{
		Scheme:                        scheme,
		Logger:                        log,
		Metrics:                       metricsserver.Options{BindAddress: o.MetricsBindAddress},
		HealthProbeBindAddress:        o.HealthProbeBindAddress,
		LeaderElection:                o.LeaderElect,
		LeaderElectionID:              o.LeaderElectionID,
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 &o.LeaseDuration,
		RenewDeadline:                 &o.RenewDeadline,
		RetryPeriod:                   &o.RetryPeriod,
		Cache:                         cache.Options{DefaultTransform: controller.CacheTransform},
		Controller:                    config.Controller{SkipNameValidation: &skip},
	}
	if len(o.WatchNamespaces) > 0 {
		mopts.Cache.DefaultNamespaces = map[string]cache.Config{o.ClusterObjectNamespace: {}}
		for _, ns := range o.WatchNamespaces {
			mopts.Cache.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	mgr, err := ctrl.NewManager(mainCfg, mopts)
	if err != nil {
		return nil, fmt.Errorf("manager: %w", err)
	}
	return mgr, nil
}

// addScaler adds the scaler to mgr: the trigger registry (with the fake trigger
// directory, if set), the sample store and the ScaledObject controller, which scales
// through a copy of cfg with the scale client's rate limits. It returns the store and
// what closes the registry and the store once mgr has stopped.
func addScaler(ctx context.Context, mgr manager.Manager, o *Options, cfg *rest.Config, clk clock.WithTicker,
	reg prometheus.Registerer, log logr.Logger) (_ *store.Store, closeScaler func(), err error) {
	scaleCfg := rest.CopyConfig(cfg)
	scaleCfg.QPS, scaleCfg.Burst, scaleCfg.UserAgent = o.ScaleQPS, o.ScaleBurst, "surge-scaler/scale"
	src := o.Fake
	if o.FakeTriggerDir != "" {
		if src == nil {
			src = fake.NewSource()
		}
		log.Info("TEST AID: fake triggers read from files", "dir", o.FakeTriggerDir)
		if err := mgr.Add(&fakeDir{dir: o.FakeTriggerDir, src: src, log: log.WithName("fake-trigger-dir")}); err != nil {
			return nil, nil, err
		}
	}
	reg2 := triggers.New(log.WithName("triggers"), triggers.Options{Fake: src})
	st := store.New(store.Options{Clock: clk, MeasureTimeout: o.MeasureTimeout, Metrics: store.NewMetrics(reg), Log: log.WithName("store")})
	closeScaler = func() {
		st.Close()
		reg2.Close()
	}
	defer func() {
		if err != nil {
			closeScaler()
		}
	}()
	sc, err := controller.NewScaleClient(scaleCfg, mgr.GetRESTMapper())
	if err != nil {
		return nil, nil, err
	}
	r := controller.New(controller.Options{
		Builder: reg2, Store: st, Scale: sc, Recorder: mgr.GetEventRecorder("surge-scaler"), Clock: clk,
		ClusterObjectNamespace: o.ClusterObjectNamespace, LastActiveRefresh: o.LastActiveRefresh,
		PollWorkers: o.PollWorkers, MaxConcurrentReconciles: o.MaxConcurrentReconciles,
		Registerer: reg, OnPoll: o.OnPoll, Log: log.WithName("controller"),
	})
	if err := r.SetupWithManager(ctx, mgr); err != nil {
		return nil, nil, err
	}
	return st, closeScaler, nil
}

// addMetricsAPI adds the external metrics API server, serving st on every replica.
func addMetricsAPI(mgr manager.Manager, o *Options, st *store.Store, log logr.Logger) error {
	mo := o.MetricsAPIOptions
	if mo.Kubeconfig == "" {
		mo.Kubeconfig = o.Kubeconfig
	}
	srv, err := mo.NewServer(st, log.WithName("metrics-api"))
	if err != nil {
		return fmt.Errorf("metrics api: %w", err)
	}
	if o.OnMetricsAPI != nil {
		o.OnMetricsAPI(srv)
	}
	return mgr.Add(everyReplica(srv.Start))
}

// addProbes adds the liveness and readiness checks (a standby is not ready when
// leader election is on) and closes o.Ready, if set, once the cache has synced.
func addProbes(mgr manager.Manager, o *Options) error {
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if o.LeaderElect {
		// Only the leader polls and holds samples: a standby must not receive
		// metrics API traffic, so it reports not ready.
		if err := mgr.AddReadyzCheck("leader", func(*http.Request) error {
			select {
			case <-mgr.Elected():
				return nil
			default:
				return errors.New("not the leader")
			}
		}); err != nil {
			return err
		}
	}
	if o.Ready == nil {
		return nil
	}
	ready := o.Ready
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		if mgr.GetCache().WaitForCacheSync(ctx) {
			close(ready)
		}
		<-ctx.Done()
		return nil
	}))
}

// everyReplica runs a function on every replica, leader or not.
type everyReplica func(ctx context.Context) error

func (f everyReplica) Start(ctx context.Context) error { return f(ctx) }

// NeedLeaderElection is false: the metrics API serves on every replica.
func (f everyReplica) NeedLeaderElection() bool { return false }

var _ manager.LeaderElectionRunnable = everyReplica(nil)

// pollEvery is how often the fake trigger directory is read.
const pollEvery = 100 * time.Millisecond
