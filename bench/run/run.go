// Package run runs one bench scenario against a cluster and a RabbitMQ broker: it
// applies the scenario's manifests, waits for the target to rest at zero, publishes
// the load while the watcher records, waits until every message is done and the
// target is back at rest, and builds the report. It only watches: whatever autoscaler
// the manifests name does the scaling.
package run

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/surge-autoscaler/surge/bench/loadgen"
	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/scenarios"
	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/bench/wire"
	"github.com/surge-autoscaler/surge/bench/worker"
)

// DefaultWorkerImage is the image the scenarios' worker Deployment runs; surge-vnode's
// local backend maps it to the bench-worker executable.
const DefaultWorkerImage = "surge.dev/bench-worker:latest"

// Options configure a run.
type Options struct {
	Scenario *scenarios.Scenario
	// Short selects the scenario's short form (CI).
	Short bool
	// Vars override the scenario's variables.
	Vars map[string]string
	// Namespace to run in (default "surge-bench-<scenario>"). It is created, and
	// deleted at the end unless Keep.
	Namespace string
	Keep      bool
	// Kube is the cluster; AMQPURL the broker the workers and the trigger use.
	Kube    *rest.Config
	AMQPURL string
	// WorkerImage is the worker's image (default DefaultWorkerImage).
	WorkerImage string
	// Settings carries what the caller knows (HPA sync period, backend, cluster);
	// the run fills the rest.
	Settings report.Settings
	// Progress, if set, is called about four times a second with the live state and
	// the current phase ("waiting for the target to rest at 0", "load", ...).
	Progress func(phase string, p watch.Progress)
	// Log receives the run's step lines.
	Log io.Writer
	// Logger receives the watcher's diagnostics.
	Logger logr.Logger
}

// Result is a finished run.
type Result struct {
	Report *report.Report
	// Err is set when the run did not complete (a timeout); the report still holds
	// what was observed.
	Err error
}

// Run executes the scenario. The returned error is for failures that leave no
// report (bad manifests, cluster unreachable); a run that times out returns a Result
// with Err set.
func Run(ctx context.Context, o Options) (*Result, error) {
	r, err := newRunner(o)
	if err != nil {
		return nil, err
	}
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	if !o.Keep {
		defer r.cleanup(ctx)
	}
	if err := r.apply(ctx); err != nil {
		return nil, err
	}
	return r.observe(ctx)
}

// runner is one run in progress.
type runner struct {
	o            Options
	s            *scenarios.Scenario
	runID        string
	resultsQueue string
	vars         map[string]string
	objs         []*unstructured.Unstructured
	plan         []loadgen.Step
	settings     report.Settings
	progress     func(string, watch.Progress)

	kube   kubernetes.Interface
	dyn    dynamic.Interface
	ap     *applier
	target schema.GroupVersionResource
}

func newRunner(o Options) (*runner, error) {
	s := o.Scenario
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.Namespace == "" {
		o.Namespace = "surge-bench-" + s.Name
	}
	if o.WorkerImage == "" {
		o.WorkerImage = DefaultWorkerImage
	}
	r := &runner{o: o, s: s, progress: o.Progress, plan: s.Plan(o.Short),
		runID: fmt.Sprintf("%s-%d", s.Name, time.Now().UnixMilli())}
	if r.progress == nil {
		r.progress = func(string, watch.Progress) {}
	}
	r.resultsQueue = worker.DefaultResultsQueue + "-" + o.Namespace
	r.vars = s.Variables(o.Short, o.Vars)
	for k, v := range map[string]string{
		"NAMESPACE": o.Namespace, "QUEUE": s.Queue, "RESULTS_QUEUE": r.resultsQueue,
		"AMQP_URL": o.AMQPURL, "WORKER_IMAGE": o.WorkerImage,
	} {
		r.vars[k] = v
	}
	if _, ok := r.vars["SHUTDOWN_GRACE"]; !ok {
		r.vars["SHUTDOWN_GRACE"] = "20s"
	}
	var err error
	if r.objs, err = Render(s, r.vars); err != nil {
		return nil, err
	}
	if r.kube, err = kubernetes.NewForConfig(o.Kube); err != nil {
		return nil, err
	}
	if r.dyn, err = dynamic.NewForConfig(o.Kube); err != nil {
		return nil, err
	}
	r.ap = newApplier(r.kube, r.dyn, r.kube.Discovery())
	return r, nil
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.o.Log, "bench: "+format+"\n", args...)
}

// prepare resolves the target, fills the settings and creates the namespace.
func (r *runner) prepare(ctx context.Context) error {
	s := r.s
	gv, err := schema.ParseGroupVersion(s.Target.APIVersion)
	if err != nil {
		return fmt.Errorf("target apiVersion %q: %w", s.Target.APIVersion, err)
	}
	m, err := r.ap.resource(gv.WithKind(s.Target.Kind))
	if err != nil {
		return err
	}
	r.target = m.Resource

	st := r.o.Settings
	st.Scenario, st.Short = s.Name, r.o.Short
	SettingsFromManifests(r.objs, &st)
	sched, _ := loadgen.Schedule(r.plan)
	st.Messages, st.Load = len(sched), describePlan(r.plan)
	if d, err := time.ParseDuration(r.vars["WORK_TIME"]); err == nil {
		st.WorkTime = d
	}
	if v, err := r.kube.Discovery().ServerVersion(); err == nil {
		st.KubeVersion = v.GitVersion
	}
	st.LoadBefore, st.Date = report.LoadAverage(), time.Now()
	r.settings = st

	short := ""
	if r.o.Short {
		short = " (short)"
	}
	r.logf("scenario %s%s in namespace %s: %s", s.Name, short, r.o.Namespace, st.Load)
	return r.ap.ensureNamespace(ctx, r.o.Namespace)
}

// apply empties the queues and applies the manifests.
func (r *runner) apply(ctx context.Context) error {
	for _, q := range []string{r.s.Queue, r.resultsQueue} {
		n, err := watch.PurgeQueue(r.o.AMQPURL, q)
		if err != nil {
			return fmt.Errorf("prepare queue: %w", err)
		}
		if n > 0 {
			r.logf("purged %d old messages from %s", n, q)
		}
	}
	r.logf("applying %d objects from %d manifests", len(r.objs), len(r.s.Manifests))
	return r.ap.apply(ctx, r.o.Namespace, r.objs)
}

// cleanup deletes the run's namespace (even after ctx ended).
func (r *runner) cleanup(ctx context.Context) {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	r.logf("deleting namespace %s", r.o.Namespace)
	if err := r.ap.deleteNamespace(dctx, r.o.Namespace, time.Minute); err != nil {
		r.logf("%v", err)
	}
}

// observe watches the run: rest at zero, load, drain, back to rest; then builds the
// report.
func (r *runner) observe(ctx context.Context) (*Result, error) {
	s := r.s
	depth := watch.NewAMQPDepth(r.o.AMQPURL, s.Queue)
	defer depth.Close()
	w, err := r.startWatcher(ctx, depth)
	if err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()
	rec := w.Recorder()

	if err := r.waitPhase(ctx, rec, "waiting for the target to rest at 0 replicas", time.Duration(s.Timeouts.Idle), atRest); err != nil {
		return nil, fmt.Errorf("target %s/%s not at rest (0 replicas, no pods) before the load: %w", s.Target.Kind, s.Target.Name, err)
	}
	time.Sleep(time.Second) // a baseline on the timeline

	lres, err := r.publish(ctx, rec)
	if err != nil {
		return nil, err
	}
	runErr := r.drainAndRest(ctx, rec, lres.Confirmed())
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	time.Sleep(500 * time.Millisecond) // late records and events
	stopped = true
	return r.result(w.Stop(), lres, runErr), nil
}

// startWatcher starts watching the target, its pods, the queue's depth (through
// depth) and the workers' records.
func (r *runner) startWatcher(ctx context.Context, depth watch.DepthProbe) (*watch.Watcher, error) {
	return watch.Start(ctx, r.kube, r.dyn, watch.Options{
		Run: r.runID, Namespace: r.o.Namespace, PodSelector: r.s.PodSelector, Depth: depth,
		Target: watch.Target{Resource: r.target, Name: r.s.Target.Name},
		Records: func(ctx context.Context, add func(wire.Record)) error {
			return watch.ConsumeRecords(ctx, r.o.AMQPURL, r.resultsQueue, add)
		},
		Log: r.o.Logger,
	})
}

// drainAndRest waits for every confirmed message to be done, marks "drained", then
// waits for the target to rest at zero again. It returns why the run failed, if it
// did.
func (r *runner) drainAndRest(ctx context.Context, rec *watch.Recorder, confirmed []wire.Message) error {
	ids := make([]string, 0, len(confirmed))
	for _, m := range confirmed {
		ids = append(ids, m.ID)
	}
	drain, scaleIn := time.Duration(r.s.Timeouts.Drain), time.Duration(r.s.Timeouts.ScaleIn)
	drained := func(*watch.Recorder, watch.Progress) bool { return rec.Done(ids) }
	if err := r.waitPhase(ctx, rec, "draining", drain, drained); err != nil {
		return fmt.Errorf("not every message was done within %v of the load's end: %w", drain, err)
	}
	rec.Mark(time.Now(), "drained")
	if err := r.waitPhase(ctx, rec, "scaling back to 0", scaleIn, atRest); err != nil {
		return fmt.Errorf("target not back at 0 replicas with no pods within %v of draining: %w", scaleIn, err)
	}
	return nil
}

// result builds the run's report from the timeline and the load's result; the run
// fails with runErr, or if a message was lost.
func (r *runner) result(tl watch.Timeline, lres *loadgen.Result, runErr error) *Result {
	r.settings.LoadAfter = report.LoadAverage()
	r.settings.Fill()
	rep := report.Build(report.Input{
		Settings: r.settings, Timeline: tl, Published: lres.Confirmed(), PublishFailed: lres.Failed(),
		LoadStart: lres.Start, LoadEnd: lres.End,
	})
	if runErr == nil && !rep.Integrity.OK {
		runErr = fmt.Errorf("%d of %d messages lost", rep.Integrity.Lost, rep.Integrity.Published)
	}
	return &Result{Report: rep, Err: runErr}
}

// atRest: 0 replicas and no pod left, not even a terminating one.
func atRest(_ *watch.Recorder, p watch.Progress) bool {
	return p.Desired == 0 && p.Pods == 0 && p.Terminating == 0
}

// waitPhase reports progress under phase until cond holds or timeout passes.
func (r *runner) waitPhase(ctx context.Context, rec *watch.Recorder, phase string, timeout time.Duration,
	cond func(*watch.Recorder, watch.Progress) bool) error {
	return waitFor(ctx, timeout, func() bool {
		p := rec.Progress(time.Now())
		r.progress(phase, p)
		return cond(rec, p)
	})
}

// publish runs the load plan, marking each step on the timeline, and returns once
// every confirm arrived.
func (r *runner) publish(ctx context.Context, rec *watch.Recorder) (*loadgen.Result, error) {
	pub, err := loadgenPublisher(r.o.AMQPURL, r.s.Queue)
	if err != nil {
		return nil, err
	}
	defer pub.Close()
	gen := &loadgen.Generator{RunID: r.runID, OnStep: func(i int, at time.Time) {
		label := r.plan[i].Label
		if label == "" {
			label = fmt.Sprintf("step %d", i+1)
		}
		rec.Mark(at, label)
	}}
	done := make(chan struct{})
	var res *loadgen.Result
	var genErr error
	go func() {
		defer close(done)
		res, genErr = gen.Run(ctx, pub, r.plan)
	}()
	r.logf("publishing %s (run %s)", r.settings.Load, r.runID)
	for {
		select {
		case <-done:
			if genErr != nil {
				return nil, genErr
			}
			rec.SetPublished(len(res.Confirmed()))
			if f := res.Failed(); f > 0 {
				r.logf("%d messages were not confirmed by the broker (not counted as lost)", f)
			}
			return res, nil
		case <-time.After(250 * time.Millisecond):
			r.progress("publishing", rec.Progress(time.Now()))
		}
	}
}

func loadgenPublisher(url, queue string) (*loadgen.AMQPPublisher, error) {
	p, err := loadgen.DialAMQP(url, queue, true)
	if err != nil {
		return nil, fmt.Errorf("load generator: %w", err)
	}
	return p, nil
}

// waitFor polls cond every 250 ms until it holds, ctx ends or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("timed out")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// describePlan renders a plan for the settings header ("burst 300", "1→40 msg/s
// over 1m0s, 40 msg/s for 20s").
func describePlan(plan []loadgen.Step) string {
	var parts []string
	for _, s := range plan {
		switch {
		case s.Burst > 0:
			parts = append(parts, fmt.Sprintf("burst %d", s.Burst))
		case s.Idle > 0:
			parts = append(parts, fmt.Sprintf("idle %v", s.Idle))
		case s.RateTo != 0 && s.RateTo != s.Rate:
			parts = append(parts, fmt.Sprintf("%g→%g msg/s over %v", s.Rate, s.RateTo, s.Duration))
		default:
			parts = append(parts, fmt.Sprintf("%g msg/s for %v", s.Rate, s.Duration))
		}
	}
	return strings.Join(parts, ", ")
}
