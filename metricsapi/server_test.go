package metricsapi_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/metricsapi/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// startInsecureServer runs a Server on 127.0.0.1 with authentication and
// authorisation switched off (nothing outside the process), and returns an HTTPS
// client that trusts only the server's generated CA and verifies the Service SAN.
func startInsecureServer(t *testing.T, src metricsapi.MetricSource, logs *logSink) (string, *http.Client) {
	t.Helper()
	o := metricsapi.NewOptions()
	o.Adapter.Authentication, o.Adapter.Authorization = nil, nil
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Adapter.SecureServing.Listener = ln
	o.Clock = clocktesting.NewFakePassiveClock(t0)
	log := logr.Discard()
	if logs != nil {
		log = logs.logger()
	}
	srv, err := o.NewServer(src, log)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Start returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Start did not return within 30s of cancel")
		}
	})
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(srv.CABundle()) {
		t.Fatal("CABundle holds no certificate")
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs:    roots,
		ServerName: metricsapi.DefaultServiceName + "." + metricsapi.DefaultServiceNamespace + ".svc",
	}}}
	base := "https://" + srv.Addr().String()
	waitHealthy(t, client, base)
	return base, client
}

func waitHealthy(t *testing.T, c *http.Client, base string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready after 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, c *http.Client, u string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestServerWireFormat checks what the HPA actually receives over HTTPS.
func TestServerWireFormat(t *testing.T) {
	src := fake.NewSource(clocktesting.NewFakePassiveClock(t0))
	src.Set(keyA, sample(nil))
	src.Set(trigger.Key{Namespace: "team-a", Name: "s1-failing"}, sample(func(s *trigger.Reading) {
		s.Err, s.ConsecutiveFailures = errors.New("dial "+secret), 1
	}))
	logs := &logSink{}
	base, c := startInsecureServer(t, src, logs)
	prefix := base + "/apis/external.metrics.k8s.io/v1beta1/namespaces/"

	t.Run("value", func(t *testing.T) {
		code, body := get(t, c, prefix+"team-a/"+keyA.Name+"?labelSelector="+url.QueryEscape("scaledobject.surge.dev/name=orders"))
		if code != http.StatusOK {
			t.Fatalf("HTTP %d: %s", code, body)
		}
		var list struct {
			Kind, APIVersion string
			Items            []struct {
				MetricName   string            `json:"metricName"`
				MetricLabels map[string]string `json:"metricLabels"`
				Timestamp    time.Time         `json:"timestamp"`
				Value        string            `json:"value"`
			}
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if list.Kind != "ExternalMetricValueList" || list.APIVersion != "external.metrics.k8s.io/v1beta1" {
			t.Errorf("kind %q apiVersion %q", list.Kind, list.APIVersion)
		}
		if len(list.Items) != 1 || list.Items[0].Value != "12500m" || list.Items[0].MetricName != keyA.Name {
			t.Fatalf("items %+v", list.Items)
		}
		if !list.Items[0].Timestamp.Equal(t0.Add(-2 * time.Second)) {
			t.Errorf("timestamp %s, want the sample's", list.Items[0].Timestamp)
		}
	})
	t.Run("unknown metric is a NotFound Status", func(t *testing.T) {
		code, body := get(t, c, prefix+"team-a/s9-missing")
		if code != http.StatusNotFound || !bytes.Contains(body, []byte(`"reason":"NotFound"`)) || !bytes.Contains(body, []byte("s9-missing")) {
			t.Fatalf("HTTP %d: %s", code, body)
		}
	})
	t.Run("other namespace is NotFound", func(t *testing.T) {
		code, body := get(t, c, prefix+"team-b/"+keyA.Name)
		if code != http.StatusNotFound || bytes.Contains(body, []byte("team-a")) {
			t.Fatalf("HTTP %d: %s", code, body)
		}
	})
	t.Run("failed measurement is 503 without the broker URL", func(t *testing.T) {
		code, body := get(t, c, prefix+"team-a/s1-failing")
		if code != http.StatusServiceUnavailable || bytes.Contains(body, []byte("s3cr3t")) || bytes.Contains(body, []byte("rabbit.example")) {
			t.Fatalf("HTTP %d: %s", code, body)
		}
		if strings.Contains(logs.String(), "s3cr3t") {
			t.Fatalf("log leaks the secret:\n%s", logs)
		}
	})
	t.Run("discovery lists one placeholder, not the metrics", func(t *testing.T) {
		code, body := get(t, c, base+"/apis/external.metrics.k8s.io/v1beta1")
		if code != http.StatusOK || !bytes.Contains(body, []byte(`"name":"externalmetrics"`)) || bytes.Contains(body, []byte(`s0-rabbitmq-orders`)) {
			t.Fatalf("HTTP %d: %s", code, body)
		}
	})
}

func TestOptionsFlagsAndValidate(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{name: "defaults", args: nil},
		{name: "service names", args: []string{"--metrics-api-service-name=keda-metrics", "--metrics-api-service-namespace=ops", "--secure-port=7443"}},
		{name: "bad service name", args: []string{"--metrics-api-service-name=Bad_Name"}, wantErr: "metrics-api-service-name"},
		{name: "bad namespace", args: []string{"--metrics-api-service-namespace=a.b"}, wantErr: "metrics-api-service-namespace"},
		{name: "zero refresh timeout", args: []string{"--metrics-api-refresh-timeout=0s"}, wantErr: "refresh-timeout"},
		{name: "priority and fairness refused", args: []string{"--enable-priority-and-fairness=true"}, wantErr: "priority-and-fairness"},
		{name: "bad port", args: []string{"--secure-port=-1"}, wantErr: "secure-port"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := metricsapi.NewOptions()
			fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
			o.AddFlags(fs)
			for _, f := range []string{"secure-port", "tls-cert-file", "cert-dir", "authentication-kubeconfig", "authorization-kubeconfig", "requestheader-client-ca-file"} {
				if fs.Lookup(f) == nil {
					t.Fatalf("flag --%s not registered", f)
				}
			}
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Validate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Validate = %v, want an error mentioning %q", err, tc.wantErr)
			}
		})
	}
}

// TestCertDirReuse checks that a generated pair is written to --cert-dir, reused by
// the next server (same CA, so the APIService's caBundle stays valid) and replaced
// when the Service name changes.
func TestCertDirReuse(t *testing.T) {
	dir := t.TempDir()
	newServer := func(service string) *metricsapi.Server {
		o := metricsapi.NewOptions()
		o.Adapter.Authentication, o.Adapter.Authorization = nil, nil
		o.Adapter.SecureServing.ServerCert.CertDirectory = dir
		o.ServiceName = service
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		o.Adapter.SecureServing.Listener = ln
		s, err := o.NewServer(fake.NewSource(nil), logr.Discard())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := newServer("svc-a")
	if _, err := os.Stat(filepath.Join(dir, "apiserver.key")); err != nil {
		t.Fatalf("key not written: %v", err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "apiserver.key")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v, want 0600", fi.Mode().Perm())
	}
	second := newServer("svc-a")
	if !bytes.Equal(first.CABundle(), second.CABundle()) {
		t.Error("a restarted server generated a new CA instead of reusing the pair")
	}
	third := newServer("svc-b")
	if bytes.Equal(first.CABundle(), third.CABundle()) {
		t.Error("the pair was reused although it lacks the new Service's SAN")
	}
	certPEM, err := os.ReadFile(filepath.Join(dir, "apiserver.crt"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(third.CABundle())
	leaf := parsePEM(t, certPEM)
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "svc-b.surge-system.svc", Roots: roots}); err != nil {
		t.Fatalf("serving cert does not verify for svc-b.surge-system.svc: %v", err)
	}
}

func parsePEM(t *testing.T, b []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal("no PEM block")
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
