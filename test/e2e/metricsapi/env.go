// Package metricsapie2e runs surge's external metrics API (package metricsapi) against
// the embedded control plane: registered through the aggregator as the chart
// registers it (APIService v1beta1.external.metrics.k8s.io, delegated-auth RBAC), with
// the Service of type ExternalName that reaches a local process. Env is shared with
// bench/metricsapi.
package metricsapie2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/test/harness"
)

// Names the environment registers, as the chart names them.
const (
	ServiceNamespace = "surge-system"
	ServiceName      = "surge-metrics-api"
	// Identity is the user the metrics API server authenticates to the cluster as.
	Identity     = "system:serviceaccount:surge-system:surge-scaler"
	apiServiceNm = "v1beta1.external.metrics.k8s.io"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// Env is a running metrics API server registered with a cluster.
type Env struct {
	Cluster *harness.Cluster
	Server  *metricsapi.Server
	// Logs holds every line the server's logger wrote (all verbosities).
	Logs *Lines
	// ServerConfig is the identity the server uses towards the cluster.
	ServerConfig *rest.Config
	// Registered is how long the APIService took to become Available.
	Registered time.Duration

	cancel context.CancelFunc
	done   chan error
}

// Lines is a concurrency-safe log sink.
type Lines struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Logger returns a logger writing into l at every verbosity.
func (l *Lines) Logger() logr.Logger {
	return funcr.New(func(prefix, args string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		fmt.Fprintf(&l.buf, "%s %s\n", prefix, args)
	}, funcr.Options{Verbosity: 10})
}

// String returns everything logged so far.
func (l *Lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Start runs a metrics API server over src on a free loopback port, with its own
// identity (a client certificate signed by the cluster CA) bound to
// system:auth-delegator and extension-apiserver-authentication-reader, and registers
// it as the external metrics APIService. It returns once the APIService is Available.
func Start(ctx context.Context, c *harness.Cluster, src metricsapi.MetricSource, dir string) (*Env, error) {
	e := &Env{Cluster: c, Logs: &Lines{}, done: make(chan error, 1)}
	if err := applyRBAC(ctx, c); err != nil {
		return nil, err
	}
	var err error
	if e.ServerConfig, err = c.ClientConfig(Identity); err != nil {
		return nil, err
	}
	kubeconfig := filepath.Join(dir, "metrics-api.kubeconfig")
	if err := c.UserKubeconfig(kubeconfig, Identity); err != nil {
		return nil, err
	}
	o := metricsapi.NewOptions()
	o.Kubeconfig = kubeconfig
	o.ServiceName, o.ServiceNamespace = ServiceName, ServiceNamespace
	o.Adapter.SecureServing.BindAddress = net.IPv4(127, 0, 0, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	o.Adapter.SecureServing.Listener = ln
	if e.Server, err = o.NewServer(src, e.Logs.Logger()); err != nil {
		ln.Close()
		return nil, err
	}
	sctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	go func() { e.done <- e.Server.Start(sctx) }()
	start := time.Now()
	if err := register(ctx, c, e.Server.Port(), e.Server.CABundle()); err != nil {
		e.Stop()
		return nil, err
	}
	e.Registered = time.Since(start)
	return e, nil
}

// Stop stops the server (the APIService stays; the cluster goes with its test).
func (e *Env) Stop() error {
	if e.cancel == nil {
		return nil
	}
	e.cancel()
	select {
	case err := <-e.done:
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("metrics API server did not stop within 30s")
	}
}

// applyRBAC grants Identity what delegated authentication and authorisation need,
// with the bindings the chart applies (rbac-metrics-api.yaml).
func applyRBAC(ctx context.Context, c *harness.Cluster) error {
	subject := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: Identity}}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "surge-scaler-auth-delegator"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:auth-delegator"},
		Subjects:   subject,
	}
	if _, err := c.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create ClusterRoleBinding: %w", err)
	}
	rb := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "surge-scaler-auth-reader", Namespace: "kube-system"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "extension-apiserver-authentication-reader"},
		Subjects:   subject,
	}
	if _, err := c.Client.RbacV1().RoleBindings("kube-system").Create(ctx, rb, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create RoleBinding: %w", err)
	}
	return nil
}

// register creates the ExternalName Service and the APIService and waits until the
// aggregator reports it Available.
func register(ctx context.Context, c *harness.Cluster, port int, caBundle []byte) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ServiceNamespace}}
	if _, err := c.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); ignoreExists(err) != nil {
		return fmt.Errorf("create namespace: %w", err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: ServiceName, Namespace: ServiceNamespace},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port)}},
		},
	}
	if _, err := c.Client.CoreV1().Services(ServiceNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create Service: %w", err)
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	as := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": apiServiceNm},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1",
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service":  map[string]any{"name": ServiceName, "namespace": ServiceNamespace, "port": int64(port)},
			"caBundle": base64.StdEncoding.EncodeToString(caBundle),
		},
	}}
	if _, err := dyn.Resource(apiServiceGVR).Create(ctx, as, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create APIService: %w", err)
	}
	return c.WaitAPIServiceAvailable(ctx, apiServiceNm)
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// MetricPath is the API path of metric name in namespace ns.
func MetricPath(ns, name string) string {
	return "/apis/external.metrics.k8s.io/v1beta1/namespaces/" + ns + "/" + name
}
