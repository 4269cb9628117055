package metricsapie2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
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

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test here is an integration test and skips itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var err error
	cluster, err = harness.StartCluster(ctx, harness.ClusterOptions{HPASyncPeriod: time.Second})
	if err != nil {
		fmt.Fprintf(os.Stderr, "metricsapi e2e: %v (build it with: make controlplane)\n", err)
		return 1
	}
	defer func() {
		if err := cluster.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "metricsapi e2e: stop cluster: %v\n", err)
		}
	}()
	src = fake.NewSource(nil)
	env, err = Start(ctx, cluster, src, cluster.Dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "metricsapi e2e: start metrics API: %v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "metricsapi e2e: APIService Available %s after registration (server on 127.0.0.1:%d)\n",
		env.Registered.Round(time.Millisecond), env.Server.Port())
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintf(os.Stderr, "metricsapi e2e: stop metrics API: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
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
