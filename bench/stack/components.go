package stack

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/surge-autoscaler/surge/test/harness"
)

// Names of what the stack registers for the metrics API.
const (
	systemNamespace = "surge-system"
	metricsService  = "surge-metrics-api"
	apiServiceName  = "v1beta1.external.metrics.k8s.io"
	nodeName        = "surge-vnode"
	fieldManager    = "surge-stack"
)

var (
	crdResource        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	apiServiceResource = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}
)

// installCRDs applies charts/surge-scaler/crds/*.yaml and waits until each is
// Established.
func (s *Stack) installCRDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(s.Options.Root, "charts", "surge-scaler", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs in %s: %v", filepath.Join(s.Options.Root, "charts", "surge-scaler", "crds"), err)
	}
	dyn, err := dynamic.NewForConfig(s.Kube)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := dyn.Resource(crdResource).Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply CRD %s: %w", u.GetName(), err)
		}
		names = append(names, u.GetName())
	}
	for _, n := range names {
		err := poll(ctx, 30*time.Second, func() (bool, error) {
			u, err := dyn.Resource(crdResource).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return condition(u, "Established") == "True", nil
		})
		if err != nil {
			return fmt.Errorf("CRD %s not established: %w", n, err)
		}
	}
	s.logf("stack: installed %d CRDs", len(names))
	return nil
}

// StartScaler runs surge-scaler with the admin kubeconfig, its metrics API on a free
// port with a certificate it generates into Dir/scaler-certs (SAN
// surge-metrics-api.surge-system.svc), and registers that API with the aggregator
// through an ExternalName Service to localhost (see shared/notes/controlplane.md).
//
// Start calls it unless Options.WithoutScaler; a caller that started without it may
// call it later, once.
func (s *Stack) StartScaler(ctx context.Context) error {
	if s.scaler != nil {
		return errors.New("surge-scaler already started")
	}
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	apiPort, healthPort, metricsPort := ports[0], ports[1], ports[2]
	certDir := filepath.Join(s.Dir, "scaler-certs")
	kc := s.Cluster.Kubeconfig
	args := []string{
		"--kubeconfig", kc,
		"--leader-elect=false",
		"--health-probe-bind-address", "127.0.0.1:" + strconv.Itoa(healthPort),
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(metricsPort),
		"--secure-port", strconv.Itoa(apiPort), "--bind-address", "127.0.0.1",
		"--cert-dir", certDir,
		"--authentication-kubeconfig", kc, "--authorization-kubeconfig", kc,
		"--metrics-api-service-name", metricsService, "--metrics-api-service-namespace", systemNamespace,
	}
	s.logf("stack: starting surge-scaler (metrics API on 127.0.0.1:%d)", apiPort)
	if s.scaler, err = startProc(s.Dir, "surge-scaler", filepath.Join(s.Options.BinDir, "surge-scaler"), args); err != nil {
		return err
	}
	if err := s.scaler.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort), 60*time.Second); err != nil {
		return err
	}
	caFile := filepath.Join(certDir, "apiserver-ca.crt")
	var ca []byte
	if err := poll(ctx, 30*time.Second, func() (bool, error) {
		ca, err = os.ReadFile(caFile)
		return err == nil && len(ca) > 0, nil
	}); err != nil {
		return fmt.Errorf("surge-scaler wrote no serving CA at %s; %s", caFile, s.scaler.tail())
	}
	if err := s.registerMetricsAPI(ctx, apiPort, ca); err != nil {
		return err
	}
	return nil
}

func (s *Stack) registerMetricsAPI(ctx context.Context, port int, ca []byte) error {
	kube := s.Cluster.Client
	_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: systemNamespace}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", systemNamespace, err)
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: metricsService, Namespace: systemNamespace},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port), TargetPort: intstr.FromInt(port)}}},
	}
	if _, err := kube.CoreV1().Services(systemNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create Service %s: %w", metricsService, err)
	}
	dyn, err := dynamic.NewForConfig(s.Kube)
	if err != nil {
		return err
	}
	as := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiregistration.k8s.io/v1",
		"kind":       "APIService",
		"metadata":   map[string]any{"name": apiServiceName},
		"spec": map[string]any{
			"group": "external.metrics.k8s.io", "version": "v1beta1",
			"groupPriorityMinimum": int64(100), "versionPriority": int64(100),
			"service":  map[string]any{"namespace": systemNamespace, "name": metricsService, "port": int64(port)},
			"caBundle": base64.StdEncoding.EncodeToString(ca),
		},
	}}
	if _, err := dyn.Resource(apiServiceResource).Apply(ctx, apiServiceName, as, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
		return fmt.Errorf("register APIService %s: %w", apiServiceName, err)
	}
	err = poll(ctx, 60*time.Second, func() (bool, error) {
		u, err := dyn.Resource(apiServiceResource).Get(ctx, apiServiceName, metav1.GetOptions{})
		return err == nil && condition(u, "Available") == "True", nil
	})
	if err != nil {
		return fmt.Errorf("external metrics APIService not Available: %w; %s", err, s.scaler.tail())
	}
	s.logf("stack: external metrics API available through the aggregator")
	return nil
}

// startVnode runs surge-vnode with the local backend, mapping the worker image to
// bench-worker, and waits until its node is Ready.
func (s *Stack) startVnode(ctx context.Context) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	s.VnodeState = filepath.Join(s.Dir, "vnode")
	args := []string{
		"--nodename", nodeName, "--backend", "local", "--kubeconfig", s.Cluster.Kubeconfig,
		"--kubelet-port", "0", "--kubelet-anonymous-auth",
		"--metrics-bind-address", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--health-bind-address", "127.0.0.1:" + strconv.Itoa(ports[1]),
		"--state-dir", s.VnodeState,
		"--image", s.Options.WorkerImage + "=" + filepath.Join(s.Options.BinDir, "bench-worker"),
		"--sync-interval", "250ms",
	}
	if s.Options.StartDelay > 0 {
		args = append(args, "--simulated-start-delay", s.Options.StartDelay.String())
	}
	s.logf("stack: starting surge-vnode (local backend, %s → bench-worker)", s.Options.WorkerImage)
	if s.vnode, err = startProc(s.Dir, "surge-vnode", filepath.Join(s.Options.BinDir, "surge-vnode"), args); err != nil {
		return err
	}
	if err := s.vnode.waitHTTP(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1]), 60*time.Second); err != nil {
		return err
	}
	err = poll(ctx, 60*time.Second, func() (bool, error) {
		n, err := s.Cluster.Client.CoreV1().Nodes().Get(ctx, nodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("node %s not Ready: %w; %s", nodeName, err, s.vnode.tail())
	}
	s.logf("stack: virtual node %s Ready", nodeName)
	return nil
}

// condition returns the status of the condition of type typ in u's status.
func condition(u *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == typ {
			st, _ := m["status"].(string)
			return st
		}
	}
	return ""
}

// poll calls f every 100 ms until it returns true or an error, ctx ends or timeout.
func poll(ctx context.Context, timeout time.Duration, f func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := f()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out after " + timeout.String())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	out := make([]int, 0, n)
	for len(out) < n {
		p, err := harness.FreePort()
		if err != nil {
			return nil, err
		}
		dup := false
		for _, q := range out {
			dup = dup || q == p
		}
		if !dup {
			out = append(out, p)
		}
	}
	return out, nil
}
