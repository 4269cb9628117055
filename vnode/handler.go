package vnode

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/virtual-kubelet/virtual-kubelet/errdefs"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/providers"
)

// HandlerConfig configures a Handler.
type HandlerConfig struct {
	// Backend runs the instances. Required.
	Backend providers.Backend
	// Provider names the backend ("local", "aci", "fake"): the taint value and
	// the container ID scheme. Required.
	Provider string
	// NodeIP is the node's InternalIP, reported as every pod's hostIP.
	NodeIP string
	// PodIPIsNodeIP says instances share the node's address (the local backend),
	// so the downward API's status.podIP can be resolved before start.
	PodIPIsNodeIP bool
	// Allocatable stands in for unset limits in resourceFieldRef.
	Allocatable corev1.ResourceList
	// Objects reads Secrets and ConfigMaps for env and pull secrets. Required.
	Objects ObjectGetter
	// Pods lists the pods bound to this node (an informer's lister) and
	// PodsSynced says it has synced; the tracker sweeps an instance only when its
	// pod is not there. Required.
	Pods       corev1listers.PodLister
	PodsSynced func() bool
	// Recorder records pod events (warnings about ignored or refused features).
	Recorder record.EventRecorder
	// RemovePod, if set, deletes a pod from the API server (grace period 0, UID
	// precondition) once DeletePod has stopped its instance, as the kubelet does
	// when a pod's containers have terminated. Without it virtual-kubelet removes
	// the pod when its grace period ends.
	RemovePod func(ctx context.Context, namespace, name string, uid types.UID) error
	// LostAfter is how long an instance may be missing from List before its pod
	// fails with ProviderInstanceLost; default 30 s.
	LostAfter time.Duration
	// Clock stamps statuses; default the real clock.
	Clock clock.WithTicker
	// Log receives the handler's logs.
	Log logr.Logger
	// Registerer, if set, receives the Prometheus metrics.
	Registerer prometheus.Registerer
}

// Handler is the virtual-kubelet pod handler: it turns pods into backend
// instances and instance statuses back into pod statuses. It is safe for
// concurrent use. Objects it returns are copies; it never modifies pods it is
// given.
type Handler struct {
	cfg     HandlerConfig
	log     logr.Logger
	clock   clock.WithTicker
	metrics *metrics
	kick    chan struct{}

	mu       sync.Mutex
	pods     map[string]*entry // by namespace/name
	notify   func(*corev1.Pod)
	sweeping map[string]bool // instance UIDs being swept
}

// entry is what the handler knows of one pod.
type entry struct {
	pod     *corev1.Pod // a copy; Status is the last status reported
	created time.Time   // when Backend.Create succeeded
	final   bool        // failed by the handler: not tracked any more
	running bool        // reported Running at least once
	// lastInst is the instance status the pod status was last computed from
	// (the tracker's own copy, from a List result it does not share).
	lastInst *providers.InstanceStatus
}

var (
	_ node.PodLifecycleHandler = (*Handler)(nil)
	_ node.PodNotifier         = (*Handler)(nil)
)

// NewHandler returns a handler; RunTracker must run for statuses to flow.
func NewHandler(cfg HandlerConfig) (*Handler, error) {
	if cfg.Backend == nil || cfg.Objects == nil || cfg.Pods == nil || cfg.PodsSynced == nil || cfg.Provider == "" {
		return nil, errors.New("vnode: HandlerConfig needs Backend, Provider, Objects, Pods and PodsSynced")
	}
	if cfg.LostAfter <= 0 {
		cfg.LostAfter = 30 * time.Second
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Recorder == nil {
		cfg.Recorder = &record.FakeRecorder{}
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = logr.Discard()
	}
	h := &Handler{cfg: cfg, log: cfg.Log, clock: cfg.Clock, kick: make(chan struct{}, 1),
		pods: map[string]*entry{}, sweeping: map[string]bool{}}
	h.metrics = newMetrics(h, cfg.Registerer)
	return h, nil
}

func key(ns, name string) string { return ns + "/" + name }

func refOf(pod *corev1.Pod) providers.InstanceRef {
	return providers.InstanceRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
}

// CreatePod translates pod and creates its instance. A pod the virtual node
// cannot run (an unsupported field, or a backend's Unsupported error) is not
// retried: it is reported Failed with reason UnsupportedPodSpec and a message
// naming the problem. Missing Secrets or ConfigMaps and other backend errors
// are returned, so virtual-kubelet retries with back-off while the pod stays
// Pending with the error in its message. Create is idempotent per pod UID, which
// is how a restarted surge-vnode re-adopts running instances without duplicates.
func (h *Handler) CreatePod(ctx context.Context, pod *corev1.Pod) error {
	env, err := ResolveEnv(ctx, pod, h.cfg.Objects, h.fieldValues())
	if err != nil {
		h.cfg.Recorder.Event(pod, corev1.EventTypeWarning, "CreateContainerConfigError", err.Error())
		return fmt.Errorf("resolve environment: %w", err)
	}
	creds, pullWarnings := PullSecrets(ctx, pod, h.cfg.Objects)
	spec, err := Translate(pod, env, creds)
	if err != nil {
		h.fail(pod, ReasonUnsupported, err.Error())
		return nil
	}
	start := h.clock.Now()
	err = h.cfg.Backend.Create(ctx, spec)
	h.metrics.createLatency.Observe(h.clock.Since(start).Seconds())
	if err != nil {
		h.metrics.backendError("create", err)
		if providers.IsUnsupported(err) {
			h.fail(pod, ReasonUnsupported, err.Error())
			return nil
		}
		return fmt.Errorf("backend create: %w", err)
	}
	for _, w := range append(Warnings(pod), pullWarnings...) {
		h.cfg.Recorder.Event(pod, corev1.EventTypeWarning, "FeatureNotActedOn", w)
	}
	h.mu.Lock()
	h.pods[key(pod.Namespace, pod.Name)] = &entry{pod: pod.DeepCopy(), created: h.clock.Now()}
	h.mu.Unlock()
	h.Kick()
	return nil
}

func (h *Handler) fieldValues() FieldValues {
	fv := FieldValues{HostIP: h.cfg.NodeIP, Allocatable: h.cfg.Allocatable}
	if h.cfg.PodIPIsNodeIP {
		fv.PodIP = h.cfg.NodeIP
	}
	return fv
}

// fail records pod as failed by the handler and reports it.
func (h *Handler) fail(pod *corev1.Pod, reason, message string) {
	h.cfg.Recorder.Event(pod, corev1.EventTypeWarning, reason, message)
	p := pod.DeepCopy()
	p.Status = FailedStatus(pod, reason, message, h.cfg.NodeIP, h.clock.Now())
	h.mu.Lock()
	h.pods[key(pod.Namespace, pod.Name)] = &entry{pod: p, created: h.clock.Now(), final: true}
	cb := h.notify
	h.mu.Unlock()
	h.log.V(1).Info("pod refused", "pod", key(pod.Namespace, pod.Name), "reason", reason)
	if cb != nil {
		go cb(p.DeepCopy())
	}
}

// UpdatePod records the pod's new metadata. Changes that would need the
// instance recreated (a new image) are not applied to a running instance.
func (h *Handler) UpdatePod(_ context.Context, pod *corev1.Pod) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.pods[key(pod.Namespace, pod.Name)]
	if !ok || string(e.pod.UID) != string(pod.UID) {
		return errdefs.NotFoundf("pod %s/%s is not known to this node", pod.Namespace, pod.Name)
	}
	status := e.pod.Status
	e.pod = pod.DeepCopy()
	e.pod.Status = status
	e.lastInst = nil // recompute from the new pod on the next pass
	return nil
}

// DeletePod deletes the pod's instance and reports a terminal status, so that
// virtual-kubelet removes the pod from the API. An instance already gone is not
// an error.
func (h *Handler) DeletePod(ctx context.Context, pod *corev1.Pod) error {
	err := h.cfg.Backend.Delete(ctx, refOf(pod))
	if err != nil && !providers.IsNotFound(err) {
		h.metrics.backendError("delete", err)
		return fmt.Errorf("backend delete: %w", err)
	}
	k := key(pod.Namespace, pod.Name)
	h.mu.Lock()
	last := pod.Status.DeepCopy()
	if e, ok := h.pods[k]; ok && e.pod.UID == pod.UID {
		last = e.pod.Status.DeepCopy()
		delete(h.pods, k)
	}
	cb := h.notify
	h.mu.Unlock()
	p := pod.DeepCopy()
	p.Status = DeletedStatus(pod, last, h.clock.Now())
	if cb != nil {
		cb(p)
	}
	if h.cfg.RemovePod != nil && pod.DeletionTimestamp != nil {
		if err := h.cfg.RemovePod(ctx, pod.Namespace, pod.Name, pod.UID); err != nil {
			h.log.V(1).Info("pod not removed now; virtual-kubelet removes it after its grace period",
				"pod", key(pod.Namespace, pod.Name), "err", err.Error())
		}
	}
	return nil
}

// GetPod returns a copy of the pod as last reported, or a NotFound error.
func (h *Handler) GetPod(_ context.Context, namespace, name string) (*corev1.Pod, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.pods[key(namespace, name)]; ok {
		return e.pod.DeepCopy(), nil
	}
	return nil, errdefs.NotFoundf("pod %s/%s is not known to this node", namespace, name)
}

// GetPodStatus returns a copy of the pod's last reported status.
func (h *Handler) GetPodStatus(ctx context.Context, namespace, name string) (*corev1.PodStatus, error) {
	p, err := h.GetPod(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return &p.Status, nil
}

// GetPods returns copies of every pod the handler knows.
func (h *Handler) GetPods(context.Context) ([]*corev1.Pod, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*corev1.Pod, 0, len(h.pods))
	for _, e := range h.pods {
		out = append(out, e.pod.DeepCopy())
	}
	return out, nil
}

// NotifyPods registers virtual-kubelet's status callback. It does not block.
func (h *Handler) NotifyPods(_ context.Context, cb func(*corev1.Pod)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.notify = cb
}

// Kick asks the tracker for a sync soon. It never blocks.
func (h *Handler) Kick() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

// uidOf returns the UID of the pod the handler knows as namespace/name.
func (h *Handler) uidOf(namespace, name string) (string, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.pods[key(namespace, name)]
	if !ok {
		return "", false
	}
	return string(e.pod.UID), true
}

func (h *Handler) phaseCounts() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := map[string]int{}
	for _, p := range []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed} {
		out[string(p)] = 0
	}
	for _, e := range h.pods {
		out[string(e.pod.Status.Phase)]++
	}
	return out
}
