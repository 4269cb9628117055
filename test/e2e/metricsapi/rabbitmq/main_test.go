// Package rabbitmqe2e is the end-to-end test of issue 5 item 4: the real
// surge-scaler binary, installed from its chart (CRDs, RBAC, APIService, serving
// certificate; run as the chart's ServiceAccount), a real RabbitMQ, the real HPA
// controller: 150 messages -> 0->1 by the scaler -> HPA to 15 -> drain -> 0.
package rabbitmqe2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

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
type scalerProc struct {
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

// log returns the scaler's log so far.
func (s *scalerProc) log() string {
	b, _ := os.ReadFile(s.logPath)
	return string(b)
}

func (s *scalerProc) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test here is an end-to-end test and skips itself
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", "surge-e2e-rabbitmq-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	if cluster, err = harness.StartCluster(ctx, harness.ClusterOptions{HPASyncPeriod: time.Second}); err != nil {
		return fail(fmt.Errorf("%w (build it with: make controlplane)", err))
	}
	defer cluster.Stop()
	if rmq, err = brokers.StartRabbitMQ(ctx, ""); err != nil {
		return fail(fmt.Errorf("%w (install it with: apt-get install rabbitmq-server, or make deps)", err))
	}
	defer rmq.Stop()
	if scaler, err = install(ctx, dir); err != nil {
		if scaler != nil {
			fmt.Fprintf(os.Stderr, "surge-scaler log:\n%s\n", tail(scaler.log(), 8000))
			scaler.stop()
		}
		return fail(err)
	}
	code := m.Run()
	scaler.stop()
	return code
}

func fail(err error) int {
	fmt.Fprintf(os.Stderr, "rabbitmq e2e: %v\n", err)
	return 1
}

func tail(s string, n int) string {
	if len(s) > n {
		return "[...]\n" + s[len(s)-n:]
	}
	return s
}

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// install installs the chart the way test/charts does (objects applied as the admin,
// the metrics API Service turned into ExternalName -> localhost, the Deployment not
// applied) and runs surge-scaler locally with the Deployment's arguments, as the
// chart's ServiceAccount (impersonated), with the chart's serving certificate.
func install(ctx context.Context, dir string) (*scalerProc, error) {
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	objs, err := renderChart(fmt.Sprintf("metricsAPI: {port: %d, service: {port: %d}}", port, port))
	if err != nil {
		return nil, fmt.Errorf("render chart: %w", err)
	}
	ap, err := newApplier(cluster.Config)
	if err != nil {
		return nil, err
	}
	if _, err := cluster.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: releaseNS}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	if err := ap.applyCRDs(ctx); err != nil {
		return nil, err
	}
	dep := find(objs, "Deployment", "")
	sa := find(objs, "ServiceAccount", "")
	apiSvc := find(objs, "APIService", "")
	tlsSecret := find(objs, "Secret", "")
	if dep == nil || sa == nil || apiSvc == nil || tlsSecret == nil {
		return nil, errors.New("chart rendered no Deployment, ServiceAccount, APIService or TLS Secret")
	}
	svcName, _, _ := unstructured.NestedString(apiSvc.Object, "spec", "service", "name")
	for _, o := range objs {
		o = o.DeepCopy()
		switch {
		case o.GetKind() == "Deployment":
			continue // no kubelet: surge-scaler runs as a local process
		case o.GetKind() == "Service" && o.GetName() == svcName:
			o.Object["spec"] = map[string]any{"type": "ExternalName", "externalName": "localhost",
				"ports": []any{map[string]any{"name": "https", "port": int64(port), "protocol": "TCP"}}}
		}
		if err := ap.create(ctx, o); err != nil {
			return nil, err
		}
	}
	args, err := scalerArgs(dir, dep, tlsSecret, sa)
	if err != nil {
		return nil, err
	}
	bin, err := scalerBinary(ctx, dir)
	if err != nil {
		return nil, err
	}
	p := &scalerProc{done: make(chan struct{}), logPath: filepath.Join(dir, "surge-scaler.log")}
	logf, err := os.Create(p.logPath)
	if err != nil {
		return nil, err
	}
	p.cmd = exec.Command(bin, args.argv...)
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.Env = append(os.Environ(), "POD_NAMESPACE="+releaseNS, "POD_NAME=surge-scaler-e2e")
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.done) }()
	if err := waitHealthy(ctx, p, args.health); err != nil {
		return p, err
	}
	return p, waitAPIService(ctx, apiSvc.GetName())
}

type scalerArgv struct {
	argv   []string
	health string
}

// scalerArgs adapts the chart Deployment's arguments to a local process: loopback
// addresses on free ports, the rendered certificate written to files, and a
// kubeconfig that impersonates the chart's ServiceAccount.
func scalerArgs(dir string, dep, tlsSecret, sa *unstructured.Unstructured) (scalerArgv, error) {
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
	saUser := "system:serviceaccount:" + releaseNS + ":" + sa.GetName()
	kubeconfig := filepath.Join(dir, "surge-scaler.kubeconfig")
	if err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{"c": {Server: cluster.Info.Server, CertificateAuthority: cluster.Info.CACert}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"sa": {ClientCertificate: cluster.Info.AdminCert, ClientKey: cluster.Info.AdminKey,
			Impersonate: saUser, ImpersonateGroups: []string{"system:serviceaccounts", "system:serviceaccounts:" + releaseNS, "system:authenticated"}}},
		Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "sa"}},
		CurrentContext: "c",
	}, kubeconfig); err != nil {
		return scalerArgv{}, err
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
	out.argv = []string{"--kubeconfig=" + kubeconfig, "--bind-address=127.0.0.1"}
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

// scalerBinary returns $SURGE_SCALER_BIN or builds cmd/surge-scaler into dir.
func scalerBinary(ctx context.Context, dir string) (string, error) {
	if p := os.Getenv("SURGE_SCALER_BIN"); p != "" {
		return p, nil
	}
	bin := filepath.Join(dir, "surge-scaler")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/surge-scaler")
	build.Dir = repoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build cmd/surge-scaler: %w\n%s", err, out)
	}
	return bin, nil
}

func waitHealthy(ctx context.Context, p *scalerProc, url string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		select {
		case <-p.done:
			return false, errors.New("surge-scaler exited")
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return fmt.Errorf("surge-scaler not healthy on %s: %w", url, err)
	}
	return nil
}

func waitAPIService(ctx context.Context, name string) error {
	dyn, err := dynamic.NewForConfig(cluster.Config)
	if err != nil {
		return err
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		u, err := dyn.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Available" {
				last = fmt.Sprintf("%v: %v", m["reason"], m["message"])
				return m["status"] == "True", nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("APIService %s not Available (last: %s): %w", name, last, err)
	}
	return nil
}
