// Package app is surge-scaler's command: its flags and Run. Tests and benchmarks
// run it in-process with Run, or as a process built from cmd/surge-scaler.
package app

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/fake"
)

// Options are surge-scaler's settings, one flag each.
type Options struct {
	// Kubeconfig is the kubeconfig file; empty means the in-cluster config.
	Kubeconfig string

	// MetricsBindAddress serves Prometheus /metrics; HealthProbeBindAddress serves
	// /healthz and /readyz.
	MetricsBindAddress     string
	HealthProbeBindAddress string

	// LeaderElect and the fields after it configure leader election (a Lease).
	LeaderElect             bool
	LeaderElectionID        string
	LeaderElectionNamespace string
	LeaseDuration           time.Duration
	RenewDeadline           time.Duration
	RetryPeriod             time.Duration

	// KubeAPIQPS/Burst size the client for reads, HPA and status writes; ScaleQPS/
	// Burst the separate client for /scale writes, so activation never waits
	// behind status writes.
	KubeAPIQPS   float32
	KubeAPIBurst int
	ScaleQPS     float32
	ScaleBurst   int

	// ClusterObjectNamespace holds the Secrets and ConfigMaps that
	// ClusterTriggerAuthentications read.
	ClusterObjectNamespace string
	// WatchNamespaces limits the watched namespaces; empty watches all.
	WatchNamespaces []string
	// PollWorkers, MaxConcurrentReconciles, MeasureTimeout and LastActiveRefresh
	// are passed to the controller and the store (see their flags).
	PollWorkers             int
	MaxConcurrentReconciles int
	MeasureTimeout          time.Duration
	LastActiveRefresh       time.Duration

	// MetricsAPI serves external.metrics.k8s.io from this process.
	MetricsAPI        bool
	MetricsAPIOptions *metricsapi.Options

	// FakeTriggerDir is a TEST AID (hidden flag --fake-trigger-dir): it enables the
	// "fake" trigger type, whose values are read from files in this directory (file
	// name = the fake's name; content = a number, or "error: <message>"). Never set
	// it in production.
	FakeTriggerDir string

	// Fake, when set in-process (tests, benchmarks), enables the "fake" trigger type
	// backed by this source. Not a flag.
	Fake *fake.Source
	// Clock drives polls and decisions; default the real clock. Not a flag.
	Clock clock.WithTicker
	// OnPoll is told each poll's delay against its schedule. Not a flag.
	OnPoll func(key types.NamespacedName, delay time.Duration)
	// Ready, when set, is closed once the caches have synced. Not a flag.
	Ready chan struct{}
	// OnMetricsAPI, when set, is given the metrics API server once built (tests
	// register an APIService with its port and CA bundle). Not a flag.
	OnMetricsAPI func(*metricsapi.Server)
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "surge-system"
	}
	return &Options{
		MetricsBindAddress:      ":8080",
		HealthProbeBindAddress:  ":8081",
		LeaderElectionID:        "surge-scaler.surge.dev",
		LeaderElectionNamespace: ns,
		LeaseDuration:           15 * time.Second,
		RenewDeadline:           10 * time.Second,
		RetryPeriod:             2 * time.Second,
		KubeAPIQPS:              50,
		KubeAPIBurst:            100,
		ScaleQPS:                200,
		ScaleBurst:              400,
		ClusterObjectNamespace:  ns,
		PollWorkers:             64,
		MaxConcurrentReconciles: 4,
		MeasureTimeout:          10 * time.Second,
		LastActiveRefresh:       time.Minute,
		MetricsAPI:              true,
		MetricsAPIOptions:       metricsapi.NewOptions(),
	}
}

// AddFlags registers every flag on fs, including klog's and the metrics API's.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "kubeconfig file; empty: in-cluster config")
	fs.StringVar(&o.MetricsBindAddress, "metrics-bind-address", o.MetricsBindAddress, "address of the Prometheus /metrics endpoint; \"0\" disables it")
	fs.StringVar(&o.HealthProbeBindAddress, "health-probe-bind-address", o.HealthProbeBindAddress, "address of /healthz and /readyz")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "elect a leader among replicas; only the leader reconciles, polls and scales (standbys report not ready)")
	fs.StringVar(&o.LeaderElectionID, "leader-election-id", o.LeaderElectionID, "name of the leader election Lease")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "namespace of the leader election Lease")
	fs.DurationVar(&o.LeaseDuration, "leader-election-lease-duration", o.LeaseDuration, "how long a standby waits before taking over a lease that is not renewed")
	fs.DurationVar(&o.RenewDeadline, "leader-election-renew-deadline", o.RenewDeadline, "how long the leader retries renewing before giving up leadership")
	fs.DurationVar(&o.RetryPeriod, "leader-election-retry-period", o.RetryPeriod, "interval between leader election attempts")
	fs.Float32Var(&o.KubeAPIQPS, "kube-api-qps", o.KubeAPIQPS, "queries per second of the main API client (reads, HPA and status writes)")
	fs.IntVar(&o.KubeAPIBurst, "kube-api-burst", o.KubeAPIBurst, "burst of the main API client")
	fs.Float32Var(&o.ScaleQPS, "scale-qps", o.ScaleQPS, "queries per second of the /scale client (activation writes; separate so bursts never wait behind status writes)")
	fs.IntVar(&o.ScaleBurst, "scale-burst", o.ScaleBurst, "burst of the /scale client")
	fs.StringVar(&o.ClusterObjectNamespace, "cluster-object-namespace", o.ClusterObjectNamespace, "namespace of the Secrets and ConfigMaps ClusterTriggerAuthentications read (default $POD_NAMESPACE or surge-system)")
	fs.StringSliceVar(&o.WatchNamespaces, "watch-namespaces", o.WatchNamespaces, "watch only these namespaces (comma-separated); empty: all")
	fs.IntVar(&o.PollWorkers, "poll-workers", o.PollWorkers, "polls that may run at once")
	fs.IntVar(&o.MaxConcurrentReconciles, "max-concurrent-reconciles", o.MaxConcurrentReconciles, "ScaledObject reconciles that may run at once")
	fs.DurationVar(&o.MeasureTimeout, "measure-timeout", o.MeasureTimeout, "longest one trigger measurement may take")
	fs.DurationVar(&o.LastActiveRefresh, "last-active-refresh", o.LastActiveRefresh, "how stale status.lastActiveTime may get while a trigger stays active (it is exact on every active→inactive edge)")
	fs.BoolVar(&o.MetricsAPI, "metrics-api", o.MetricsAPI, "serve external.metrics.k8s.io from this process")
	fs.StringVar(&o.FakeTriggerDir, "fake-trigger-dir", o.FakeTriggerDir, "TEST AID: enable the fake trigger type with values read from files in this directory")
	_ = fs.MarkHidden("fake-trigger-dir")
	o.MetricsAPIOptions.AddFlags(fs)
	gfs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(gfs)
	fs.AddGoFlagSet(gfs)
}

// Validate checks the options.
func (o *Options) Validate() error {
	var errs []error
	if o.KubeAPIQPS <= 0 || o.KubeAPIBurst <= 0 || o.ScaleQPS <= 0 || o.ScaleBurst <= 0 {
		errs = append(errs, errors.New("--kube-api-qps, --kube-api-burst, --scale-qps and --scale-burst must be positive"))
	}
	if o.PollWorkers <= 0 || o.MaxConcurrentReconciles <= 0 {
		errs = append(errs, errors.New("--poll-workers and --max-concurrent-reconciles must be positive"))
	}
	if o.MeasureTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--measure-timeout must be positive, got %s", o.MeasureTimeout))
	}
	if o.LeaderElect && o.LeaderElectionNamespace == "" {
		errs = append(errs, errors.New("--leader-election-namespace is required with --leader-elect"))
	}
	if o.MetricsAPI {
		if err := o.MetricsAPIOptions.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
