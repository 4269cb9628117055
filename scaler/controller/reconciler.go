package controller

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sync"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/poller"
	"github.com/surge-autoscaler/surge/scaler/store"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Finalizer holds a ScaledObject until its poll stopped, its HPA is deleted and its
// target restored.
const Finalizer = "surge.dev/scaledobject"

// EventRecorder records events (events.k8s.io); controller-runtime's
// manager.GetEventRecorder satisfies it.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// Options configure the controller.
type Options struct {
	// Builder builds triggers (normally the trigger registry).
	Builder trigger.Builder
	// Store owns the built triggers' Sources and their samples.
	Store *store.Store
	// Scale reads and writes /scale; see NewScaleClient.
	Scale ScaleClient
	// Recorder records events.
	Recorder EventRecorder
	// Clock drives polls and decisions; default the real clock.
	Clock clock.WithTicker
	// ClusterObjectNamespace holds the Secrets and ConfigMaps of
	// ClusterTriggerAuthentications.
	ClusterObjectNamespace string
	// LastActiveRefresh is how stale status.lastActiveTime may get while a trigger
	// stays active (it is written exactly on every active→inactive edge); default 60 s.
	LastActiveRefresh time.Duration
	// PollWorkers is the number of polls that may run at once; default 64.
	PollWorkers int
	// MaxConcurrentReconciles is the number of Reconciles that may run at once;
	// default 4.
	MaxConcurrentReconciles int
	// Registerer receives the controller's and the poller's Prometheus series.
	Registerer prometheus.Registerer
	// OnPoll, when set, is told each poll's delay against its schedule (benchmarks).
	OnPoll func(key types.NamespacedName, delay time.Duration)
	// Log is the controller's logger.
	Log logr.Logger
}

// Reconciler reconciles ScaledObjects and runs their polls.
type Reconciler struct {
	opts     Options
	client   client.Client // cached reads, writes
	reader   client.Reader // uncached reads (Secrets, ConfigMaps, other kinds)
	mapper   meta.RESTMapper
	scale    ScaleClient
	store    *store.Store
	poller   *poller.Poller
	clock    clock.WithTicker
	log      logr.Logger
	m        *metrics
	data     dataCache
	replicas replicaIndex

	mu     sync.Mutex
	states map[types.NamespacedName]*objState
	refs   map[objectRef]map[types.NamespacedName]bool // Secret/ConfigMap → objects reading it
	queue  workqueue.TypedRateLimitingInterface[reconcile.Request]
}

// New returns a Reconciler; SetupWithManager wires it into a manager.
func New(opts Options) *Reconciler {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.LastActiveRefresh <= 0 {
		opts.LastActiveRefresh = time.Minute
	}
	if opts.MaxConcurrentReconciles <= 0 {
		opts.MaxConcurrentReconciles = 4
	}
	if opts.Registerer == nil {
		opts.Registerer = prometheus.NewRegistry()
	}
	r := &Reconciler{opts: opts, scale: opts.Scale, store: opts.Store, clock: opts.Clock, log: opts.Log,
		states: map[types.NamespacedName]*objState{}, refs: map[objectRef]map[types.NamespacedName]bool{}}
	r.m = newMetrics(opts.Registerer)
	r.poller = poller.New(r.poll, poller.Options{Clock: opts.Clock, Workers: opts.PollWorkers,
		Registerer: opts.Registerer, OnPoll: opts.OnPoll, Log: opts.Log.WithName("poller")})
	return r
}

// Reconcile brings one ScaledObject's HPA, triggers, poll and status in line with
// its spec.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	so := &v1alpha1.ScaledObject{}
	if err := r.client.Get(ctx, req.NamespacedName, so); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, err
	}
	if so.DeletionTimestamp != nil {
		return reconcile.Result{}, r.finalize(ctx, so)
	}
	if !controllerutil.ContainsFinalizer(so, Finalizer) {
		patch := client.MergeFrom(so.DeepCopy())
		controllerutil.AddFinalizer(so, Finalizer)
		if err := r.client.Patch(ctx, so, patch, client.FieldOwner(FieldManager)); err != nil {
			return reconcile.Result{}, fmt.Errorf("add finalizer: %w", err)
		}
	}
	st := r.state(so)
	requeue, err := r.sync(ctx, so, st)
	if err != nil {
		return reconcile.Result{}, err
	}
	if err := r.writeStatus(ctx, so, st); err != nil {
		return reconcile.Result{}, err
	}
	return reconcile.Result{RequeueAfter: requeue}, nil
}

// state returns so's state, creating it on first sight.
func (r *Reconciler) state(so *v1alpha1.ScaledObject) *objState {
	key := types.NamespacedName{Namespace: so.Namespace, Name: so.Name}
	r.mu.Lock()
	defer r.mu.Unlock()
	st, ok := r.states[key]
	if !ok || st.uid != so.UID {
		// New, or deleted and created again under the same name.
		st = newObjState(so, r.clock.Now())
		r.states[key] = st
	}
	return st
}

func (r *Reconciler) getState(key types.NamespacedName) *objState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[key]
}

// forget drops everything held for key: its poll, its triggers, its state.
func (r *Reconciler) forget(key types.NamespacedName) {
	r.poller.Remove(key)
	r.store.Remove(key)
	r.setRefs(key, nil)
	r.m.forget(key)
	r.mu.Lock()
	delete(r.states, key)
	r.mu.Unlock()
}

// setRefs records the Secrets and ConfigMaps key read, so their changes requeue it,
// and drops cached data nobody reads any more.
func (r *Reconciler) setRefs(key types.NamespacedName, refs map[objectRef]bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ref, users := range r.refs {
		if users[key] && !refs[ref] {
			delete(users, key)
			if len(users) == 0 {
				delete(r.refs, ref)
				r.data.drop(ref)
			}
		}
	}
	for ref := range refs {
		if r.refs[ref] == nil {
			r.refs[ref] = map[types.NamespacedName]bool{}
		}
		r.refs[ref][key] = true
	}
}

// readers returns the objects that read ref.
func (r *Reconciler) readers(ref objectRef) []reconcile.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []reconcile.Request
	for k := range r.refs[ref] {
		out = append(out, reconcile.Request{NamespacedName: k})
	}
	return out
}

// kick queues key for a Reconcile (a status write). Before the controller started,
// the initial list reconciles every object anyway.
func (r *Reconciler) kick(key types.NamespacedName) {
	r.mu.Lock()
	q := r.queue
	r.mu.Unlock()
	if q != nil {
		q.Add(reconcile.Request{NamespacedName: key})
	}
}

// event records an event on so (safe with a nil recorder).
func (r *Reconciler) event(so runtime.Object, typ, reason, action, note string, args ...any) {
	if r.opts.Recorder != nil {
		r.opts.Recorder.Eventf(so, nil, typ, reason, action, note, args...)
	}
}
