package watch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// DepthProbe measures a queue's depth.
type DepthProbe interface {
	Depth(ctx context.Context) (int, error)
}

// Target is the scale target whose spec.replicas is watched.
type Target struct {
	Resource schema.GroupVersionResource
	Name     string
}

// Options configure a Watcher.
type Options struct {
	Run       string
	Namespace string
	Target    Target
	// PodSelector selects the target's pods (a label selector string).
	PodSelector string
	Depth       DepthProbe
	// Records, if set, runs until ctx ends and passes every record it receives to
	// add (e.g. ConsumeRecords on the results queue).
	Records func(ctx context.Context, add func(wire.Record)) error
	// DepthInterval is how often the depth is measured (default 100 ms);
	// SampleInterval how often a snapshot is taken (default 100 ms).
	DepthInterval  time.Duration
	SampleInterval time.Duration
	Clock          clock.WithTicker
	Log            logr.Logger
}

// Watcher runs the sources that feed a Recorder.
type Watcher struct {
	rec    *Recorder
	clock  clock.WithTicker
	cancel context.CancelFunc
	wg     sync.WaitGroup
	// selector is applied again to events: the server filters, but a watch through
	// some clients (fakes, proxies) does not.
	selector labels.Selector
	target   string
}

// Start starts watching and returns once the informers have synced.
func Start(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, o Options) (*Watcher, error) {
	o.setDefaults()
	sel, err := labels.Parse(o.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("pod selector %q: %w", o.PodSelector, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{rec: NewRecorder(o.Run, o.Clock.Now()), clock: o.Clock, cancel: cancel, selector: sel, target: o.Target.Name}
	if err := w.startInformers(ctx, kube, dyn, o); err != nil {
		cancel()
		return nil, err
	}
	w.startPolls(ctx, o)
	return w, nil
}

// setDefaults fills in the clock and intervals left unset.
func (o *Options) setDefaults() {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.DepthInterval <= 0 {
		o.DepthInterval = 100 * time.Millisecond
	}
	if o.SampleInterval <= 0 {
		o.SampleInterval = 100 * time.Millisecond
	}
}

// startInformers starts the informers on the target's pods and on the target itself,
// waits for them to sync and shuts them down when ctx ends.
func (w *Watcher) startInformers(ctx context.Context, kube kubernetes.Interface, dyn dynamic.Interface, o Options) error {
	pods := informers.NewSharedInformerFactoryWithOptions(kube, 0, informers.WithNamespace(o.Namespace),
		informers.WithTweakListOptions(func(lo *metav1.ListOptions) { lo.LabelSelector = o.PodSelector }))
	podInf := pods.Core().V1().Pods().Informer()
	if _, err := podInf.AddEventHandler(w.podHandler()); err != nil {
		return fmt.Errorf("pod handler: %w", err)
	}
	targets := dynamicinformer.NewFilteredDynamicSharedInformerFactory(dyn, 0, o.Namespace, func(lo *metav1.ListOptions) {
		lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", o.Target.Name).String()
	})
	tInf := targets.ForResource(o.Target.Resource).Informer()
	if _, err := tInf.AddEventHandler(w.targetHandler()); err != nil {
		return fmt.Errorf("target handler: %w", err)
	}
	pods.Start(ctx.Done())
	targets.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), podInf.HasSynced, tInf.HasSynced) {
		w.cancel()
		pods.Shutdown()
		targets.Shutdown()
		return fmt.Errorf("informers for pods and %s did not sync", o.Target.Resource.Resource)
	}
	w.wg.Add(2)
	go func() { defer w.wg.Done(); <-ctx.Done(); pods.Shutdown() }()
	go func() { defer w.wg.Done(); <-ctx.Done(); targets.Shutdown() }()
	return nil
}

// startPolls starts measuring the queue depth (if o.Depth is set), taking snapshots
// and reading the records (if o.Records is set), until ctx ends.
func (w *Watcher) startPolls(ctx context.Context, o Options) {
	if o.Depth != nil {
		w.loop(ctx, o.DepthInterval, func(now time.Time) {
			pctx, pcancel := context.WithTimeout(ctx, time.Second)
			defer pcancel()
			if n, err := o.Depth.Depth(pctx); err == nil {
				w.rec.ObserveDepth(w.clock.Now(), n)
			} else if ctx.Err() == nil {
				o.Log.V(1).Info("Measuring queue depth failed", "err", err.Error())
			}
		})
	}
	w.loop(ctx, o.SampleInterval, func(now time.Time) { w.rec.Sample(now) })
	if o.Records != nil {
		w.wg.Go(func() {
			if err := o.Records(ctx, func(r wire.Record) { w.rec.AddRecord(r) }); err != nil && !errors.Is(err, context.Canceled) {
				o.Log.Error(err, "Reading worker records failed")
			}
		})
	}
}

// loop calls f at once, then once per interval every, until ctx ends.
func (w *Watcher) loop(ctx context.Context, every time.Duration, f func(time.Time)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := w.clock.NewTicker(every)
		defer t.Stop()
		f(w.clock.Now())
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C():
				f(w.clock.Now())
			}
		}
	}()
}

// Recorder returns the recorder the watcher feeds.
func (w *Watcher) Recorder() *Recorder { return w.rec }

// Stop stops every source and returns the timeline.
func (w *Watcher) Stop() Timeline {
	w.cancel()
	w.wg.Wait()
	now := w.clock.Now()
	w.rec.Sample(now)
	return w.rec.Timeline(now)
}

func (w *Watcher) podHandler() cache.ResourceEventHandler {
	observe := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && w.selector.Matches(labels.Set(p.Labels)) {
			w.rec.ObservePod(w.clock.Now(), StateOf(p))
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observe(obj) },
		UpdateFunc: func(_, obj any) { observe(obj) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if p, ok := obj.(*corev1.Pod); ok {
				w.rec.ObservePodGone(w.clock.Now(), string(p.UID))
			}
		},
	}
}

func (w *Watcher) targetHandler() cache.ResourceEventHandler {
	observe := func(obj any) {
		u, ok := obj.(*unstructured.Unstructured)
		if !ok || u.GetName() != w.target {
			return
		}
		n, found, err := unstructured.NestedInt64(u.Object, "spec", "replicas")
		if err != nil {
			return
		}
		if !found {
			n = 1 // the API's default for Deployments, StatefulSets, ReplicaSets
		}
		w.rec.ObserveDesired(w.clock.Now(), int32(n))
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { observe(obj) },
		UpdateFunc: func(_, obj any) { observe(obj) },
	}
}
