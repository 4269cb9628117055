package smokee2e

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"github.com/surge-autoscaler/surge/test/harness"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/metrics/pkg/apis/external_metrics"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"
)

// tinyProvider serves one external metric whose value the test sets. It is the
// smallest provider the library accepts: this package tests the cluster path, not
// Surge's metrics API (metricsapi has its own tests).
type tinyProvider struct {
	name  string
	milli atomic.Int64
}

func (p *tinyProvider) GetExternalMetric(_ context.Context, namespace string, _ labels.Selector, info provider.ExternalMetricInfo) (*external_metrics.ExternalMetricValueList, error) {
	if info.Metric != p.name {
		return nil, provider.NewMetricNotFoundError(external_metrics.Resource("externalmetrics"), info.Metric)
	}
	return &external_metrics.ExternalMetricValueList{Items: []external_metrics.ExternalMetricValue{{
		MetricName: p.name,
		Timestamp:  metav1.Now(),
		Value:      *resource.NewMilliQuantity(p.milli.Load(), resource.DecimalSI),
	}}}, nil
}

func (p *tinyProvider) ListAllExternalMetrics() []provider.ExternalMetricInfo {
	return []provider.ExternalMetricInfo{{Metric: p.name}}
}

func (p *tinyProvider) set(v float64) { p.milli.Store(int64(math.Round(v * 1000))) }

// startTinyMetricsServer runs the provider in-process on a free loopback port with a
// serving certificate for <svc>.<ns>.svc signed by the cluster CA, delegating
// authentication and authorisation to the cluster (admin identity), and returns the port.
func startTinyMetricsServer(ctx context.Context, t *testing.T, p *tinyProvider, svc, ns string) int {
	t.Helper()
	dir := t.TempDir()
	certPEM, keyPEM, err := cluster.SignServingCert(svc+"."+ns+".svc", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	for f, b := range map[string][]byte{certFile: certPEM, keyFile: keyPEM} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	port, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	adapter := &basecmd.AdapterBase{Name: "smoke-metrics", FlagSet: pflag.NewFlagSet("smoke", pflag.ContinueOnError)}
	adapter.InstallFlags()
	if err := adapter.Flags().Parse([]string{
		"--secure-port=" + strconv.Itoa(port), "--bind-address=127.0.0.1",
		"--tls-cert-file=" + certFile, "--tls-private-key-file=" + keyFile,
		"--lister-kubeconfig=" + cluster.Kubeconfig,
		"--authentication-kubeconfig=" + cluster.Kubeconfig,
		"--authorization-kubeconfig=" + cluster.Kubeconfig,
	}); err != nil {
		t.Fatal(err)
	}
	adapter.WithExternalMetrics(p)
	errc := make(chan error, 1)
	go func() { errc <- adapter.Run(ctx) }()
	select {
	case err := <-errc:
		t.Fatalf("metrics server exited: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	return port
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}
