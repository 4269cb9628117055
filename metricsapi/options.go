package metricsapi

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/utils/clock"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/cmd/options"
)

// Defaults for Options.
const (
	// DefaultSecurePort is the metrics API's HTTPS port.
	DefaultSecurePort = 6443
	// DefaultServiceName and DefaultServiceNamespace name the Service the APIService
	// points at; a self-generated serving certificate carries
	// <service>.<namespace>.svc, which the aggregator verifies.
	DefaultServiceName      = "surge-metrics-api"
	DefaultServiceNamespace = "surge-system"
	// DefaultAuthorizedCacheTTL is how long an allowed authorisation decision is
	// cached (--authorization-webhook-cache-authorized-ttl): longer than the HPA's
	// sync period, so a revoked reader can read metric values for up to this long.
	DefaultAuthorizedCacheTTL = time.Minute
	// serverName names the API server in its logs and OpenAPI info.
	serverName = "surge-metrics-api"
)

// Options configures the metrics API server. Create it with NewOptions, register its
// flags with AddFlags, then call NewServer.
type Options struct {
	// Adapter holds the library's options: secure serving (--secure-port,
	// --bind-address, --cert-dir, --tls-cert-file, --tls-private-key-file, ...),
	// delegated authentication (--authentication-kubeconfig, --client-ca-file,
	// --requestheader-*) and authorisation (--authorization-kubeconfig, ...), audit
	// and features. Priority and fairness stays off (it needs an informer).
	Adapter *options.CustomMetricsAdapterServerOptions
	// ServiceName and ServiceNamespace name the Service the APIService points at; a
	// self-generated serving certificate gets SANs for it.
	ServiceName, ServiceNamespace string
	// Kubeconfig, if set, is the default for --authentication-kubeconfig and
	// --authorization-kubeconfig (surge-scaler passes its own kubeconfig); empty means
	// the in-cluster config, as the library does.
	Kubeconfig string
	// RefreshTimeout bounds a read-through Refresh for useCachedMetrics: false.
	RefreshTimeout time.Duration
	// ListMetricNames makes discovery list every metric name (default: one
	// placeholder resource, as KEDA does; see Provider.ListAllExternalMetrics).
	ListMetricNames bool
	// Clock is the provider's clock (staleness, fallback timestamps). Not a flag.
	Clock clock.PassiveClock
}

// NewOptions returns Options with defaults: port 6443, a self-signed certificate in
// memory (or in --cert-dir when set) for Service surge-metrics-api in surge-system,
// delegated authentication and authorisation against the kube-apiserver.
func NewOptions() *Options {
	a := options.NewCustomMetricsAdapterServerOptions()
	a.SecureServing.BindPort = DefaultSecurePort
	// The library defaults to a relative directory; we keep a generated pair in
	// memory unless --cert-dir asks for files.
	a.SecureServing.ServerCert.CertDirectory = ""
	// Every metric is its own authorisation decision (the resource is the metric
	// name), and the HPA asks for each one once per sync (15 s upstream): with the
	// library's 10 s cache every query costs a SubjectAccessReview round trip to the
	// kube-apiserver (p50 4.6 ms vs 0.5 ms cached, bench/metricsapi). Allowed
	// decisions are cached for DefaultAuthorizedCacheTTL instead; denials stay 10 s.
	a.Authorization.AllowCacheTTL = DefaultAuthorizedCacheTTL
	return &Options{
		Adapter:          a,
		ServiceName:      DefaultServiceName,
		ServiceNamespace: DefaultServiceNamespace,
		RefreshTimeout:   DefaultRefreshTimeout,
		Clock:            clock.RealClock{},
	}
}

// AddFlags registers the library's flags and ours on fs.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Adapter.AddFlags(fs)
	fs.StringVar(&o.ServiceName, "metrics-api-service-name", o.ServiceName,
		"name of the Service the external metrics APIService points at (SAN of a self-generated serving certificate)")
	fs.StringVar(&o.ServiceNamespace, "metrics-api-service-namespace", o.ServiceNamespace,
		"namespace of that Service")
	fs.DurationVar(&o.RefreshTimeout, "metrics-api-refresh-timeout", o.RefreshTimeout,
		"longest a metrics query waits for a fresh measurement of a trigger with useCachedMetrics: false")
	fs.BoolVar(&o.ListMetricNames, "metrics-api-list-metric-names", o.ListMetricNames,
		"list every metric name in API discovery (kubectl get --raw /apis/external.metrics.k8s.io/v1beta1) instead of one placeholder; costly with thousands of metrics")
}

// Validate checks the options.
func (o *Options) Validate() error {
	errs := o.Adapter.Validate()
	if o.Adapter.Features != nil && o.Adapter.Features.EnablePriorityAndFairness {
		errs = append(errs, errors.New("--enable-priority-and-fairness is not supported by the metrics API"))
	}
	if msgs := validation.IsDNS1035Label(o.ServiceName); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--metrics-api-service-name %q: %v", o.ServiceName, msgs))
	}
	if msgs := validation.IsDNS1123Label(o.ServiceNamespace); len(msgs) > 0 {
		errs = append(errs, fmt.Errorf("--metrics-api-service-namespace %q: %v", o.ServiceNamespace, msgs))
	}
	if o.RefreshTimeout <= 0 {
		errs = append(errs, fmt.Errorf("--metrics-api-refresh-timeout must be positive, got %s", o.RefreshTimeout))
	}
	return errors.Join(errs...)
}
