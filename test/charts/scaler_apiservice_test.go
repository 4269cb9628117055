package charts_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/metricsapi/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// TestScalerAPIServiceAvailable serves the external metrics API locally with the
// chart's generated serving certificate and with delegated authentication and
// authorisation running as the chart's ServiceAccount (impersonated), and checks the
// chart's APIService becomes Available and answers through the aggregator. This
// proves the certificate's SANs, the caBundle, and the auth-delegator and
// extension-apiserver-authentication-reader bindings.
func TestScalerAPIServiceAvailable(t *testing.T) {
	in := installScaler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()

	sec := in.r.one(t, "Secret", "surge-surge-scaler-metrics-api-tls")
	files := map[string]string{}
	for _, k := range []string{"tls.crt", "tls.key"} {
		b, err := base64.StdEncoding.DecodeString(nested(t, sec.Object, "data", k).(string))
		if err != nil {
			t.Fatal(err)
		}
		files[k] = filepath.Join(dir, k)
		if err := os.WriteFile(files[k], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	kubeconfig := filepath.Join(dir, "sa.kubeconfig")
	if err := cluster.ServiceAccountKubeconfig(kubeconfig, testNamespace, "surge-surge-scaler"); err != nil {
		t.Fatal(err)
	}

	src := fake.NewSource(nil)
	const metric = "s0-rabbitmq-orders"
	src.Set(trigger.Key{Namespace: appNS, Name: metric}, trigger.Reading{
		Metric: trigger.Metric{PollingInterval: time.Hour, UseCachedMetrics: true, Labels: map[string]string{"scaledobject.surge.dev/name": soName}},
		Sample: trigger.Sample{Value: 42, Time: time.Now()},
	})
	o := metricsapi.NewOptions()
	o.Adapter.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	o.Adapter.SecureServing.BindPort = in.metricsPort
	o.Adapter.SecureServing.ServerCert.CertKey.CertFile = files["tls.crt"]
	o.Adapter.SecureServing.ServerCert.CertKey.KeyFile = files["tls.key"]
	o.ServiceName, o.ServiceNamespace = "surge-surge-scaler-metrics-api", testNamespace
	o.Kubeconfig = kubeconfig
	srv, err := o.NewServer(src, testr.New(t))
	if err != nil {
		t.Fatalf("metrics API as %s: %v", scalerSA, err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Start(sctx) }()
	defer func() { stop(); <-done }()

	apiGVR := schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
	var last []any
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := in.admin.dyn.Resource(apiGVR).Get(ctx, "v1beta1.external.metrics.k8s.io", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last, _, _ = unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range last {
			m := c.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("APIService not Available: %v (conditions %v)", err, last)
	}

	raw, err := in.admin.kube.CoreV1().RESTClient().Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces", appNS, metric).DoRaw(ctx)
	if err != nil {
		t.Fatalf("GET external metric through the aggregator: %v", err)
	}
	var list struct {
		Items []struct {
			MetricName string `json:"metricName"`
			Value      string `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	if len(list.Items) != 1 || list.Items[0].Value != "42" {
		t.Fatalf("external metric = %s, want one item of value 42", raw)
	}
}
