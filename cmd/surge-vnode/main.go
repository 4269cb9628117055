// Command surge-vnode registers a virtual node and runs the pods the scheduler
// binds to it (pods that tolerate virtual-kubelet.io/provider=<backend>) as
// instances of a serverless backend: local processes (--backend=local), Azure
// Container Instances (--backend=aci) or an in-memory fake (--backend=fake, for
// tests and demos).
//
// Shutdown: on SIGTERM or SIGINT surge-vnode stops watching and serving and
// exits, leaving every instance running. Started again with the same backend
// (for local, the same --state-dir), it re-adopts them: running processes are
// watched, not restarted, and instances whose pods were deleted meanwhile are
// swept. To stop the instances, delete the pods (or drain the node) first. The
// same holds after a crash or kill -9.
//
// Endpoints: the kubelet API (HTTPS, --kubelet-port) for `kubectl logs`;
// Prometheus metrics on --metrics-bind-address /metrics; /healthz (process up)
// and /readyz (node registered, pods syncing) on --health-bind-address.
package main

import (
	"context"
	goflag "flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/vnode"
)

// options are the command's flags.
type options struct {
	nodeName, backend, kubeconfig, nodeIP string
	kubeletPort                           int
	tlsCert, tlsKey, clientCA             string
	anonymous                             bool
	metricsAddr, healthAddr               string
	syncInterval                          time.Duration
	workers                               int
	qps                                   float32
	burst                                 int
	local                                 localOptions
	fake                                  fakeOptions
	aci                                   aci.Options
}

func (o *options) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.nodeName, "nodename", "surge-vnode", "name of the virtual node")
	fs.StringVar(&o.backend, "backend", "local", "backend running the pods: local, aci or fake")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig file; empty: in-cluster config")
	fs.StringVar(&o.nodeIP, "node-ip", "127.0.0.1", "the node's InternalIP: the API server reaches the kubelet API there")
	fs.IntVar(&o.kubeletPort, "kubelet-port", 10250, "kubelet API port on --node-ip (0: any free port)")
	fs.StringVar(&o.tlsCert, "tls-cert-file", "", "kubelet API serving certificate; empty: self-signed")
	fs.StringVar(&o.tlsKey, "tls-private-key-file", "", "key of --tls-cert-file")
	fs.StringVar(&o.clientCA, "client-ca-file", "", "CA of the client certificates the kubelet API accepts (the API server's --kubelet-client-certificate)")
	fs.BoolVar(&o.anonymous, "kubelet-anonymous-auth", false, "let kubelet API requests without a verified client certificate through (for control planes without --kubelet-client-certificate)")
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "127.0.0.1:10256", "address of the Prometheus /metrics endpoint")
	fs.StringVar(&o.healthAddr, "health-bind-address", "127.0.0.1:10258", "address of /healthz and /readyz")
	fs.DurationVar(&o.syncInterval, "sync-interval", 500*time.Millisecond, "how often the backend is listed to update pod statuses")
	fs.IntVar(&o.workers, "pod-sync-workers", 20, "virtual-kubelet workers per queue")
	fs.Float32Var(&o.qps, "kube-api-qps", 100, "API server request rate limit")
	fs.IntVar(&o.burst, "kube-api-burst", 200, "API server request burst")
	o.local.addFlags(fs)
	o.fake.addFlags(fs)
	o.aci = aci.DefaultOptions()
	o.aci.AddFlags(fs)
}

func main() {
	var o options
	fs := pflag.NewFlagSet("surge-vnode", pflag.ExitOnError)
	o.addFlags(fs)
	klogFlags := goflag.NewFlagSet("klog", goflag.ExitOnError)
	klog.InitFlags(klogFlags)
	fs.AddGoFlagSet(klogFlags)
	_ = fs.Parse(os.Args[1:])
	log := klog.Background().WithName("surge-vnode")

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, o, log); err != nil {
		log.Error(err, "surge-vnode failed")
		klog.Flush()
		os.Exit(1)
	}
	log.Info("stopped; instances are left running for the next surge-vnode to re-adopt")
	klog.Flush()
}

func run(ctx context.Context, o options, log logr.Logger) error {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: o.kubeconfig}, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = o.qps, o.burst
	cfg.UserAgent = "surge-vnode/" + o.nodeName
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("kubernetes client: %w", err)
	}
	backend, closeBackend, err := newBackend(ctx, o, log)
	if err != nil {
		return err
	}
	defer func() {
		if err := closeBackend(); err != nil {
			log.Error(err, "closing the backend")
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var ready atomic.Bool
	servers, err := startServers(o, reg, &ready, log)
	if err != nil {
		return err
	}
	defer servers.close()

	return vnode.Run(ctx, vnode.Config{
		NodeName: o.nodeName, Provider: o.backend, Backend: backend, Client: client,
		NodeIP: o.nodeIP, PodIPIsNodeIP: o.backend == "local",
		API: vnode.APIConfig{
			Addr:     net.JoinHostPort(o.nodeIP, strconv.Itoa(o.kubeletPort)),
			CertFile: o.tlsCert, KeyFile: o.tlsKey, ClientCAFile: o.clientCA, AllowAnonymous: o.anonymous,
		},
		SyncInterval: o.syncInterval, PodSyncWorkers: o.workers,
		Log: log, Registerer: reg,
		OnReady: func(*vnode.Handler) { ready.Store(true) },
	})
}

// servers are the metrics and health HTTP servers.
type servers struct{ list []*http.Server }

func startServers(o options, reg *prometheus.Registry, ready *atomic.Bool, log logr.Logger) (*servers, error) {
	metrics := http.NewServeMux()
	metrics.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	health := http.NewServeMux()
	health.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	health.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(w, "node not registered or pods not syncing yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	s := &servers{}
	for _, l := range []struct {
		addr string
		h    http.Handler
	}{{o.metricsAddr, metrics}, {o.healthAddr, health}} {
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("listen on %s: %w", l.addr, err)
		}
		srv := &http.Server{Handler: l.h, ReadHeaderTimeout: 10 * time.Second}
		s.list = append(s.list, srv)
		log.Info("serving", "address", ln.Addr().String())
		go func() { _ = srv.Serve(ln) }()
	}
	return s, nil
}

func (s *servers) close() {
	for _, srv := range s.list {
		_ = srv.Close()
	}
}
