package metricsapie2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/surge-autoscaler/surge/scaler/trigger"
	"github.com/surge-autoscaler/surge/test/harness"
)

const (
	authNS     = "e2e-auth"
	authMetric = "s0-rabbitmq-auth"
	// secret stands for a broker URL with a password inside a trigger's error.
	secret = "amqp://surge:hunter2-pw@broker.internal:5672/"
)

func setAuthSample() {
	src.Set(trigger.Key{Namespace: authNS, Name: authMetric}, trigger.Reading{
		Metric: trigger.Metric{PollingInterval: time.Hour, UseCachedMetrics: true, Labels: map[string]string{"scaledobject.surge.dev/name": "auth"}},
		Sample: trigger.Sample{Value: 42.5, Time: time.Now()},
	})
}

// viaAggregator GETs path through the kube-apiserver as cfg's user and returns the
// body or the API error.
func viaAggregator(ctx context.Context, t *testing.T, cfg *rest.Config, path string, params ...string) ([]byte, error) {
	t.Helper()
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	req := kc.CoreV1().RESTClient().Get().AbsPath(path)
	for i := 0; i+1 < len(params); i += 2 {
		req = req.Param(params[i], params[i+1])
	}
	return req.DoRaw(ctx)
}

func code(err error) int {
	var s apierrors.APIStatus
	if errors.As(err, &s) {
		return int(s.Status().Code)
	}
	return -1
}

func directGet(t *testing.T, c *http.Client, url string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func userCert(t *testing.T, user string, groups ...string) *tls.Certificate {
	t.Helper()
	certPEM, keyPEM, err := cluster.SignClientCert(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

func frontProxyCert(t *testing.T) *tls.Certificate {
	t.Helper()
	c, err := tls.LoadX509KeyPair(cluster.Info.FrontProxyClientCert, cluster.Info.FrontProxyClientKey)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

// grantReader lets user read external metrics, as the HPA's role does.
func grantReader(ctx context.Context, t *testing.T, user string) {
	t.Helper()
	role := &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-external-metrics-reader"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"external.metrics.k8s.io"}, Resources: []string{"*"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := cluster.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); ignoreExists(err) != nil {
		t.Fatal(err)
	}
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-external-metrics-reader-" + user},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}},
	}
	if _, err := cluster.Client.RbacV1().ClusterRoleBindings().Create(ctx, b, metav1.CreateOptions{}); ignoreExists(err) != nil {
		t.Fatal(err)
	}
}

func TestAdminGetThroughAggregator(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setAuthSample()
	body, err := viaAggregator(ctx, t, cluster.Config, MetricPath(authNS, authMetric),
		"labelSelector", "scaledobject.surge.dev/name=auth")
	if err != nil {
		t.Fatalf("admin GET through the aggregator: %v", err)
	}
	var list struct {
		Items []struct {
			MetricName string `json:"metricName"`
			Value      string `json:"value"`
		} `json:"items"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(list.Items) != 1 || list.Items[0].Value != "42500m" || list.Items[0].MetricName != authMetric {
		t.Fatalf("got %s", body)
	}
	// client-go replaces a 404's message with a generic one; the body is the Status
	// the server wrote (what kubectl get --raw prints).
	raw, err := viaAggregator(ctx, t, cluster.Config, MetricPath(authNS, "s9-unknown"))
	if code(err) != http.StatusNotFound || !strings.Contains(string(raw), `"reason":"NotFound"`) || !strings.Contains(string(raw), "s9-unknown") {
		t.Fatalf("unknown metric through the aggregator: %v (HTTP %d) %s, want a 404 Status naming it", err, code(err), raw)
	}
	_, err = viaAggregator(ctx, t, cluster.Config, MetricPath("e2e-other", authMetric))
	if code(err) != http.StatusNotFound {
		t.Fatalf("metric from another namespace: %v (HTTP %d), want 404", err, code(err))
	}
}

func TestAnonymousIsRejected(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setAuthSample()
	_, err := viaAggregator(ctx, t, rest.AnonymousClientConfig(cluster.Config), MetricPath(authNS, authMetric))
	if c := code(err); c != http.StatusUnauthorized && c != http.StatusForbidden {
		t.Fatalf("anonymous through the aggregator: %v (HTTP %d), want 401/403", err, c)
	}
	status, body := directGet(t, directClient(t, nil), directURL(authNS, authMetric), nil)
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Fatalf("anonymous direct: HTTP %d %s, want 401/403", status, body)
	}
	if strings.Contains(body, "42500m") {
		t.Fatalf("anonymous direct request got the value: %s", body)
	}
}

func TestUserWithoutRBACIsForbidden(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setAuthSample()
	cfg, err := cluster.ClientConfig("mallory", "e2e-nobodies")
	if err != nil {
		t.Fatal(err)
	}
	_, err = viaAggregator(ctx, t, cfg, MetricPath(authNS, authMetric))
	if code(err) != http.StatusForbidden {
		t.Fatalf("user without RBAC through the aggregator: %v (HTTP %d), want 403", err, code(err))
	}
	// Directly: the server authenticates the client certificate against the cluster's
	// client CA and asks the cluster (SubjectAccessReview), which says no.
	status, body := directGet(t, directClient(t, userCert(t, "mallory")), directURL(authNS, authMetric), nil)
	if status != http.StatusForbidden || !strings.Contains(body, "mallory") {
		t.Fatalf("user without RBAC direct: HTTP %d %s, want 403 naming the user", status, body)
	}
}

func TestUserWithRBACIsAllowed(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setAuthSample()
	grantReader(ctx, t, "alice")
	cfg, err := cluster.ClientConfig("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := viaAggregator(ctx, t, cfg, MetricPath(authNS, authMetric)); err != nil {
		t.Fatalf("alice through the aggregator: %v", err)
	}
	status, body := directGet(t, directClient(t, userCert(t, "alice")), directURL(authNS, authMetric), nil)
	if status != http.StatusOK || !strings.Contains(body, "42500m") {
		t.Fatalf("alice direct: HTTP %d %s", status, body)
	}
}

// TestFrontProxyHeadersTrustedOnlyFromFrontProxy checks that the request-header
// identity is honoured when the front-proxy client certificate presents it (that is
// how the aggregator forwards the user) and ignored from anyone else.
func TestFrontProxyHeadersTrustedOnlyFromFrontProxy(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	setAuthSample()
	grantReader(ctx, t, "alice")
	fp := directClient(t, frontProxyCert(t))
	url := directURL(authNS, authMetric)
	tests := []struct {
		name   string
		client *http.Client
		header map[string]string
		want   []int
	}{
		{"front proxy forwarding alice", fp, map[string]string{"X-Remote-User": "alice"}, []int{http.StatusOK}},
		{"front proxy forwarding mallory", fp, map[string]string{"X-Remote-User": "mallory"}, []int{http.StatusForbidden}},
		{"front proxy forwarding system:masters", fp, map[string]string{"X-Remote-User": "root", "X-Remote-Group": "system:masters"}, []int{http.StatusOK}},
		{"spoofed headers from a client certificate", directClient(t, userCert(t, "mallory")),
			map[string]string{"X-Remote-User": "alice", "X-Remote-Group": "system:masters"}, []int{http.StatusForbidden}},
		{"spoofed headers without a certificate", directClient(t, nil),
			map[string]string{"X-Remote-User": "alice", "X-Remote-Group": "system:masters"}, []int{http.StatusUnauthorized, http.StatusForbidden}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := directGet(t, tc.client, url, tc.header)
			for _, w := range tc.want {
				if status == w {
					return
				}
			}
			t.Fatalf("HTTP %d %s, want %v", status, body, tc.want)
		})
	}
}

func TestNoSecretInResponsesOrLogs(t *testing.T) {
	harness.Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	key := trigger.Key{Namespace: authNS, Name: "s1-rabbitmq-broken"}
	src.Set(key, trigger.Reading{
		Metric: trigger.Metric{PollingInterval: time.Second},
		Sample: trigger.Sample{Value: 3, Time: time.Now().Add(-time.Minute), Err: errors.New("dial " + secret + ": connection refused"), ConsecutiveFailures: 2},
	})
	for _, cached := range []bool{true, false} {
		src.Update(key, func(s *trigger.Reading) { s.UseCachedMetrics = cached })
		body, err := viaAggregator(ctx, t, cluster.Config, MetricPath(key.Namespace, key.Name))
		if code(err) != http.StatusServiceUnavailable {
			t.Fatalf("failing metric (useCachedMetrics %v): %v %s, want 503", cached, err, body)
		}
		if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "broker.internal") {
			t.Fatalf("response leaks the broker URL: %v", err)
		}
	}
	if logs := env.Logs.String(); strings.Contains(logs, "hunter2") || strings.Contains(logs, "broker.internal") {
		t.Fatalf("server log leaks the broker URL:\n%s", logs)
	}
}
