package metricsapie2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/metricsapi/fake"
	"github.com/surge-autoscaler/surge/test/harness"
)

// One control plane and one metrics API server for the package.
var (
	cluster *harness.Cluster
	src     *fake.Source
	env     *Env
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{ControlPlane: true, Cluster: harness.ClusterOptions{HPASyncPeriod: time.Second}}, setup)
}

// setup starts the metrics API server over a fake source and registers it.
func setup(ctx context.Context, h *harness.Env) error {
	cluster, src = h.Cluster, fake.NewSource(nil)
	var err error
	if env, err = Start(ctx, cluster, src, cluster.Dir); err != nil {
		return fmt.Errorf("start metrics API: %w", err)
	}
	harness.AtExit("metrics API", env.Stop)
	fmt.Fprintf(os.Stderr, "metricsapi e2e: APIService Available %s after registration (server on 127.0.0.1:%d)\n",
		env.Registered.Round(time.Millisecond), env.Server.Port())
	return nil
}

// directClient talks to the metrics API server itself (not through the aggregator),
// verifying its certificate for the Service name, presenting cert if given.
func directClient(t testing.TB, cert *tls.Certificate) *http.Client {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(env.Server.CABundle()) {
		t.Fatal("server has no CA bundle")
	}
	cfg := &tls.Config{RootCAs: roots, ServerName: ServiceName + "." + ServiceNamespace + ".svc"}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
}

func directURL(ns, name string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", env.Server.Port(), MetricPath(ns, name))
}
