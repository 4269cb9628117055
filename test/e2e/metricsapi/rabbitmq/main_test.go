// Package rabbitmqe2e is the end-to-end test of issue 5 item 4: the real
// surge-scaler binary, installed from its chart (CRDs, RBAC, APIService, serving
// certificate; run as the chart's ServiceAccount), a real RabbitMQ, the real HPA
// controller: 150 messages -> 0->1 by the scaler -> HPA to 15 -> drain -> 0.
package rabbitmqe2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// One control plane, one RabbitMQ and one surge-scaler for the package.
var (
	cluster *harness.Cluster
	rmq     *brokers.RabbitMQ
	scaler  *scalerProc
)

// scalerProc is the running surge-scaler.
type scalerProc struct{ *harness.Process }

// log returns the scaler's log so far.
func (s *scalerProc) log() string {
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{
		ControlPlane: true, Cluster: harness.ClusterOptions{HPASyncPeriod: time.Second},
		Components: []harness.Component{brokers.NeedRabbitMQ(&rmq)},
	}, setup)
}

// setup installs the chart and starts surge-scaler as its ServiceAccount.
func setup(ctx context.Context, env *harness.Env) error {
	cluster = env.Cluster
	dir, err := os.MkdirTemp("", "surge-e2e-rabbitmq-")
	if err != nil {
		return err
	}
	harness.AtExit("temporary directory", func() error { return os.RemoveAll(dir) })
	return install(ctx, dir)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "[...]\n" + s[len(s)-n:]
	}
	return s
}

// install installs the chart the way test/charts does (objects applied as the admin,
// the metrics API Service turned into ExternalName -> localhost, the Deployment not
// applied) and runs surge-scaler locally with the Deployment's arguments, as the
// chart's ServiceAccount (impersonated), with the chart's serving certificate.
func install(ctx context.Context, dir string) error {
	port, err := harness.FreePort()
	if err != nil {
		return err
	}
	objs, err := renderChart(fmt.Sprintf("metricsAPI: {port: %d, service: {port: %d}}", port, port))
	if err != nil {
		return fmt.Errorf("render chart: %w", err)
	}
	if err := applyChart(ctx, objs, port); err != nil {
		return err
	}
	dep, sa, apiSvc, tlsSecret := find(objs, "Deployment", ""), find(objs, "ServiceAccount", ""), find(objs, "APIService", ""), find(objs, "Secret", "")
	args, err := scalerArgs(dir, dep, tlsSecret)
	if err != nil {
		return err
	}
	bin, err := harness.Binary(ctx, dir, "./cmd/surge-scaler")
	if err != nil {
		return err
	}
	p, err := cluster.StartAsServiceAccount(dir, releaseNS, sa.GetName(),
		[]string{"POD_NAMESPACE=" + releaseNS, "POD_NAME=surge-scaler-e2e"}, bin, args.argv...)
	if err != nil {
		return err
	}
	scaler = &scalerProc{p}
	harness.AtExit("surge-scaler", func() error { return p.Stop(20 * time.Second) })
	if err := p.WaitHTTP(ctx, args.health); err != nil {
		return fmt.Errorf("surge-scaler not healthy: %w", err)
	}
	if err := cluster.WaitAPIServiceAvailable(ctx, apiSvc.GetName()); err != nil {
		return fmt.Errorf("%w\nsurge-scaler log:\n%s", err, p.Log(8000))
	}
	return nil
}

// applyChart applies the rendered chart's objects but the Deployment (no kubelet:
// surge-scaler runs as a local process), its metrics API Service made an
// ExternalName to localhost on port.
func applyChart(ctx context.Context, objs []*unstructured.Unstructured, port int) error {
	ap, err := newApplier(cluster.Config)
	if err != nil {
		return err
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	if err := cluster.InstallCRDs(ctx); err != nil {
		return err
	}
	apiSvc := find(objs, "APIService", "")
	if find(objs, "Deployment", "") == nil || find(objs, "ServiceAccount", "") == nil || apiSvc == nil || find(objs, "Secret", "") == nil {
		return errors.New("chart rendered no Deployment, ServiceAccount, APIService or TLS Secret")
	}
	svcName, _, _ := unstructured.NestedString(apiSvc.Object, "spec", "service", "name")
	for _, o := range objs {
		o = o.DeepCopy()
		switch {
		case o.GetKind() == "Deployment":
			continue
		case o.GetKind() == "Service" && o.GetName() == svcName:
			o.Object["spec"] = map[string]any{"type": "ExternalName", "externalName": "localhost",
				"ports": []any{map[string]any{"name": "https", "port": int64(port), "protocol": "TCP"}}}
		}
		if err := ap.create(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// scalerArgv is surge-scaler's command line and its health endpoint.
type scalerArgv struct {
	argv   []string
	health string
}

// scalerArgs adapts the chart Deployment's arguments to a local process: loopback
// addresses on free ports and the rendered certificate written to files (the
// ServiceAccount's kubeconfig is added when it starts).
func scalerArgs(dir string, dep, tlsSecret *unstructured.Unstructured) (scalerArgv, error) {
	containers, _, _ := unstructured.NestedSlice(dep.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return scalerArgv{}, errors.New("chart Deployment has no container")
	}
	raw, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
	files := map[string]string{}
	for _, k := range []string{"tls.crt", "tls.key"} {
		b, err := secretData(tlsSecret, k)
		if err != nil {
			return scalerArgv{}, err
		}
		files[k] = filepath.Join(dir, k)
		if err := os.WriteFile(files[k], b, 0o600); err != nil {
			return scalerArgv{}, err
		}
	}
	mp, err := harness.FreePort()
	if err != nil {
		return scalerArgv{}, err
	}
	hp, err := harness.FreePort()
	if err != nil {
		return scalerArgv{}, err
	}
	out := scalerArgv{health: fmt.Sprintf("http://127.0.0.1:%d/healthz", hp)}
	out.argv = []string{"--bind-address=127.0.0.1"}
	for _, a := range raw {
		name, _, _ := strings.Cut(a, "=")
		switch name {
		case "--metrics-bind-address":
			a = name + "=127.0.0.1:" + strconv.Itoa(mp)
		case "--health-probe-bind-address":
			a = name + "=127.0.0.1:" + strconv.Itoa(hp)
		case "--tls-cert-file":
			a = name + "=" + files["tls.crt"]
		case "--tls-private-key-file":
			a = name + "=" + files["tls.key"]
		}
		out.argv = append(out.argv, a)
	}
	return out, nil
}
