package vnode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	vklog "github.com/virtual-kubelet/virtual-kubelet/log"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	"golang.org/x/time/rate"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	corev1informers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/ptr"

	"github.com/surge-autoscaler/surge/providers"
)

// Config configures a virtual node.
type Config struct {
	// NodeName is the Node's name. Required.
	NodeName string
	// Provider names the backend (taint value, container ID scheme). Required.
	Provider string
	// Backend runs the pods. Required.
	Backend providers.Backend
	// Client talks to the API server. Required.
	Client kubernetes.Interface
	// NodeIP is the node's InternalIP, where the API server reaches the kubelet
	// API; default 127.0.0.1.
	NodeIP string
	// PodIPIsNodeIP: instances share the node's address (the local backend).
	PodIPIsNodeIP bool
	// Labels are extra node labels.
	Labels map[string]string
	// API configures the kubelet API.
	API APIConfig
	// SyncInterval is the tracker's List interval; default 500 ms.
	SyncInterval time.Duration
	// PodSyncWorkers is virtual-kubelet's worker count per queue; default 20.
	PodSyncWorkers int
	// QueueQPS bounds how fast virtual-kubelet's queues hand pods to the handler
	// and statuses to the API server; default 500 per second with bursts of
	// 1,000. (virtual-kubelet's own default, 10 per second, would take 100 s to
	// report 1,000 pods Running.) The client's QPS is the other bound.
	QueueQPS float64
	// LeaseDuration is the node lease's duration in seconds; default 40.
	LeaseDuration int32
	// Log receives every log, virtual-kubelet's included.
	Log logr.Logger
	// Registerer, if set, receives the Prometheus metrics.
	Registerer prometheus.Registerer
	// OnReady, if set, is called once the node is registered and pods sync.
	OnReady func(*Handler)
}

// Run registers the virtual node and runs it until ctx ends. On return the
// backend's instances are left as they are: a surge-vnode started again with the
// same backend re-adopts them (CreatePod is idempotent per pod UID) and sweeps
// those whose pods were deleted meanwhile. The Node object is left too; it turns
// NotReady when its lease expires.
func Run(ctx context.Context, cfg Config) error {
	if cfg.NodeName == "" || cfg.Provider == "" || cfg.Backend == nil || cfg.Client == nil {
		return errors.New("vnode: Config needs NodeName, Provider, Backend and Client")
	}
	if cfg.NodeIP == "" {
		cfg.NodeIP = "127.0.0.1"
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = 500 * time.Millisecond
	}
	if cfg.PodSyncWorkers <= 0 {
		cfg.PodSyncWorkers = 20
	}
	if cfg.QueueQPS <= 0 {
		cfg.QueueQPS = 500
	}
	if cfg.LeaseDuration <= 0 {
		cfg.LeaseDuration = 40
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = logr.Discard()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx = vklog.WithLogger(ctx, VKLogger(cfg.Log.WithName("virtual-kubelet")))
	r, err := build(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.broadcaster.Shutdown()
	return r.run(ctx, cancel)
}

// runner is a built virtual node, ready to run.
type runner struct {
	cfg         Config
	h           *Handler
	api         *KubeletAPI
	np          *NodeProvider
	nc          *node.NodeController
	pc          *node.PodController
	podFactory  informers.SharedInformerFactory
	broadcaster record.EventBroadcaster
}

// build creates the node object, informers, event recorder, handler, kubelet API
// and virtual-kubelet's controllers.
func build(ctx context.Context, cfg Config) (*runner, error) {
	capacity, err := cfg.Backend.Capacity(ctx)
	if err != nil {
		return nil, fmt.Errorf("vnode: backend capacity: %w", err)
	}
	nodeObj := NewNode(NodeConfig{Name: cfg.NodeName, Provider: cfg.Provider, IP: cfg.NodeIP, Labels: cfg.Labels}, capacity)
	r := &runner{cfg: cfg}
	r.podFactory = informers.NewSharedInformerFactoryWithOptions(cfg.Client, time.Minute,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", cfg.NodeName).String()
		}))
	podInformer := r.podFactory.Core().V1().Pods()
	r.broadcaster = record.NewBroadcaster(record.WithContext(ctx))
	r.broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: cfg.Client.CoreV1().Events("")})
	recorder := r.broadcaster.NewRecorder(scheme.Scheme, corev1.EventSource{Component: "surge-vnode", Host: cfg.NodeName})

	r.h, err = NewHandler(HandlerConfig{
		Backend: cfg.Backend, Provider: cfg.Provider, NodeIP: cfg.NodeIP, PodIPIsNodeIP: cfg.PodIPIsNodeIP,
		Allocatable: nodeObj.Status.Allocatable, Objects: ClientObjects{Client: cfg.Client},
		Pods: podInformer.Lister(), PodsSynced: podInformer.Informer().HasSynced,
		Recorder: recorder, Log: cfg.Log.WithName("handler"), Registerer: cfg.Registerer,
		RemovePod: ClientObjects{Client: cfg.Client}.RemovePod,
	})
	if err == nil {
		r.api, err = NewKubeletAPI(cfg.API, r.h, cfg.Backend, cfg.NodeName, cfg.NodeIP, cfg.Log.WithName("kubelet-api"))
	}
	if err != nil {
		r.broadcaster.Shutdown()
		return nil, err
	}
	nodeObj.Status.DaemonEndpoints.KubeletEndpoint.Port = int32(r.api.Port())
	if err := r.controllers(nodeObj, podInformer, recorder); err != nil {
		r.broadcaster.Shutdown()
		_ = r.api.ln.Close()
		return nil, err
	}
	return r, nil
}

// controllers creates virtual-kubelet's node and pod controllers.
func (r *runner) controllers(nodeObj *corev1.Node, podInformer corev1informers.PodInformer, recorder record.EventRecorder) error {
	cfg := r.cfg
	r.np = NewNodeProvider(cfg.Backend, nodeObj, time.Minute, cfg.Log.WithName("node"))
	nodes := cfg.Client.CoreV1().Nodes()
	var err error
	r.nc, err = node.NewNodeController(r.np, nodeObj, nodes,
		node.WithNodeEnableLeaseV1(cfg.Client.CoordinationV1().Leases(corev1.NamespaceNodeLease), cfg.LeaseDuration),
		node.WithNodeStatusUpdateErrorHandler(func(ctx context.Context, err error) error {
			if !apierrors.IsNotFound(err) {
				return err
			}
			cfg.Log.Info("node object was deleted; registering it again", "node", cfg.NodeName)
			_, cerr := nodes.Create(ctx, nodeObj.DeepCopy(), metav1.CreateOptions{})
			return cerr
		}))
	if err != nil {
		return fmt.Errorf("vnode: node controller: %w", err)
	}
	// virtual-kubelet's pod controller insists on these informers for its own env
	// resolution, which we skip (SkipDownwardAPIResolution: ResolveEnv does it with
	// Secret marking and no cluster-wide Secret cache). They are never started.
	idle := informers.NewSharedInformerFactory(cfg.Client, 0)
	r.pc, err = node.NewPodController(node.PodControllerConfig{
		PodClient: cfg.Client.CoreV1(), PodInformer: podInformer, EventRecorder: recorder, Provider: r.h,
		ConfigMapInformer: idle.Core().V1().ConfigMaps(), SecretInformer: idle.Core().V1().Secrets(),
		ServiceInformer: idle.Core().V1().Services(), SkipDownwardAPIResolution: true,
		SyncPodsFromKubernetesRateLimiter:    queueLimiter(cfg.QueueQPS),
		DeletePodsFromKubernetesRateLimiter:  queueLimiter(cfg.QueueQPS),
		SyncPodStatusFromProviderRateLimiter: queueLimiter(cfg.QueueQPS),
	})
	if err != nil {
		return fmt.Errorf("vnode: pod controller: %w", err)
	}
	return nil
}

// run registers the node, then runs the pod controller, tracker, capacity
// refresh and kubelet API until ctx ends or one of them fails.
func (r *runner) run(ctx context.Context, cancel context.CancelFunc) error {
	log := r.cfg.Log
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	fail := func(what string) func(error) {
		return func(err error) {
			if err != nil {
				errc <- fmt.Errorf("vnode: %s: %w", what, err)
			}
		}
	}
	served := false
	defer func() {
		cancel()
		if !served {
			_ = r.api.ln.Close()
		}
		wg.Wait()
		r.podFactory.Shutdown()
	}()
	wg.Go(func() { fail("node controller")(r.nc.Run(ctx)) })
	select {
	case <-r.nc.Ready():
	case <-r.nc.Done():
		return firstError(errc, errors.New("vnode: node controller stopped before the node was registered"))
	case <-ctx.Done():
		return nil
	}
	log.Info("node registered", "node", r.cfg.NodeName, "provider", r.cfg.Provider, "kubeletPort", r.api.Port())
	r.podFactory.Start(ctx.Done())
	wg.Go(func() { fail("pod controller")(r.pc.Run(ctx, r.cfg.PodSyncWorkers)) })
	wg.Go(func() { r.h.RunTracker(ctx, r.cfg.SyncInterval) })
	wg.Go(func() { r.np.Run(ctx) })
	served = true
	wg.Go(func() { fail("kubelet API")(r.api.Serve(ctx)) })
	select {
	case <-r.pc.Ready():
		log.Info("pods syncing", "node", r.cfg.NodeName)
		if r.cfg.OnReady != nil {
			r.cfg.OnReady(r.h)
		}
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

// firstError returns an error already sent on errc, or fallback.
func firstError(errc <-chan error, fallback error) error {
	select {
	case err := <-errc:
		return err
	case <-time.After(100 * time.Millisecond):
		return fallback
	}
}

// queueLimiter is virtual-kubelet's default rate limiter (per-item exponential
// back-off from 5 ms) with the overall bucket raised from 10 to qps.
func queueLimiter(qps float64) workqueue.TypedRateLimiter[any] {
	return workqueue.NewTypedMaxOfRateLimiter(
		workqueue.NewTypedItemExponentialFailureRateLimiter[any](5*time.Millisecond, 1000*time.Second),
		&workqueue.TypedBucketRateLimiter[any]{Limiter: rate.NewLimiter(rate.Limit(qps), int(2*qps))},
	)
}

// ClientObjects reads Secrets and ConfigMaps with GET calls.
type ClientObjects struct{ Client kubernetes.Interface }

// Secret GETs a Secret.
func (c ClientObjects) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return c.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
}

// RemovePod deletes a pod with grace period 0 and a UID precondition; a pod
// already gone or recreated under the same name is not an error.
func (c ClientObjects) RemovePod(ctx context.Context, ns, name string, uid types.UID) error {
	err := c.Client.CoreV1().Pods(ns).Delete(ctx, name, metav1.DeleteOptions{
		GracePeriodSeconds: ptr.To[int64](0), Preconditions: metav1.NewUIDPreconditions(string(uid))})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// ConfigMap GETs a ConfigMap.
func (c ClientObjects) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return c.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
}
