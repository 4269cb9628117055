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
	progress := o.Progress
	if progress == nil {
		progress = func(string, watch.Progress) {}
	}
	runID := fmt.Sprintf("%s-%d", s.Name, time.Now().UnixMilli())
	resultsQueue := worker.DefaultResultsQueue + "-" + o.Namespace
	vars := s.Variables(o.Short, o.Vars)
	for k, v := range map[string]string{
		"NAMESPACE": o.Namespace, "QUEUE": s.Queue, "RESULTS_QUEUE": resultsQueue,
		"AMQP_URL": o.AMQPURL, "WORKER_IMAGE": o.WorkerImage,
	} {
		vars[k] = v
	}
	if _, ok := vars["SHUTDOWN_GRACE"]; !ok {
		vars["SHUTDOWN_GRACE"] = "20s"
	}
	objs, err := Render(s, vars)
	if err != nil {
		return nil, err
	}

	kube, err := kubernetes.NewForConfig(o.Kube)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(o.Kube)
	if err != nil {
		return nil, err
	}
	ap := newApplier(kube, dyn, kube.Discovery())
	gv, err := schema.ParseGroupVersion(s.Target.APIVersion)
	if err != nil {
		return nil, fmt.Errorf("target apiVersion %q: %w", s.Target.APIVersion, err)
	}
	targetMap, err := ap.resource(gv.WithKind(s.Target.Kind))
	if err != nil {
		return nil, err
	}

	settings := o.Settings
	settings.Scenario, settings.Short = s.Name, o.Short
	SettingsFromManifests(objs, &settings)
	plan := s.Plan(o.Short)
	sched, _ := loadgen.Schedule(plan)
	settings.Messages = len(sched)
	settings.Load = describePlan(plan)
	if d, err := time.ParseDuration(vars["WORK_TIME"]); err == nil {
		settings.WorkTime = d
	}
	if v, err := kube.Discovery().ServerVersion(); err == nil {
		settings.KubeVersion = v.GitVersion
	}
	settings.LoadBefore = report.LoadAverage()
	settings.Date = time.Now()

	fmt.Fprintf(o.Log, "bench: scenario %s%s in namespace %s: %s\n", s.Name, map[bool]string{true: " (short)"}[o.Short], o.Namespace, settings.Load)
	if err := ap.ensureNamespace(ctx, o.Namespace); err != nil {
		return nil, err
	}
	if !o.Keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
			defer cancel()
			fmt.Fprintf(o.Log, "bench: deleting namespace %s\n", o.Namespace)
			if err := ap.deleteNamespace(dctx, o.Namespace, time.Minute); err != nil {
				fmt.Fprintf(o.Log, "bench: %v\n", err)
			}
		}()
	}
	for _, q := range []string{s.Queue, resultsQueue} {
		if n, err := watch.PurgeQueue(o.AMQPURL, q); err != nil {
			return nil, fmt.Errorf("prepare queue: %w", err)
		} else if n > 0 {
			fmt.Fprintf(o.Log, "bench: purged %d old messages from %s\n", n, q)
		}
	}
	fmt.Fprintf(o.Log, "bench: applying %d objects from %d manifests\n", len(objs), len(s.Manifests))
	if err := ap.apply(ctx, o.Namespace, objs); err != nil {
		return nil, err
	}

	depth := watch.NewAMQPDepth(o.AMQPURL, s.Queue)
	defer depth.Close()
	w, err := watch.Start(ctx, kube, dyn, watch.Options{
		Run: runID, Namespace: o.Namespace, PodSelector: s.PodSelector, Depth: depth,
		Target: watch.Target{Resource: targetMap.Resource, Name: s.Target.Name},
		Records: func(ctx context.Context, add func(wire.Record)) error {
			return watch.ConsumeRecords(ctx, o.AMQPURL, resultsQueue, add)
		},
		Log: o.Logger,
	})
	if err != nil {
		return nil, err
	}
	rec := w.Recorder()
	stopped := false
	stop := func() watch.Timeline {
		stopped = true
		return w.Stop()
	}
	defer func() {
		if !stopped {
			w.Stop()
		}
	}()

	// 1. The target must rest at zero (replicas 0, no pods) before the load.
	atRest := func() bool {
		p := rec.Progress(time.Now())
		return p.Desired == 0 && p.Pods == 0 && p.Terminating == 0
	}
	if err := waitFor(ctx, time.Duration(s.Timeouts.Idle), func() bool {
		progress("waiting for the target to rest at 0 replicas", rec.Progress(time.Now()))
		return atRest()
	}); err != nil {
		return nil, fmt.Errorf("target %s/%s not at rest (0 replicas, no pods) before the load: %w", s.Target.Kind, s.Target.Name, err)
	}
	time.Sleep(time.Second) // a baseline on the timeline

	// 2. Publish.
	pub, err := loadgenPublisher(o.AMQPURL, s.Queue)
	if err != nil {
		return nil, err
	}
	gen := &loadgen.Generator{RunID: runID, OnStep: func(i int, at time.Time) {
		label := plan[i].Label
		if label == "" {
			label = fmt.Sprintf("step %d", i+1)
		}
		rec.Mark(at, label)
	}}
	loadDone := make(chan struct{})
	var lres *loadgen.Result
	var lerr error
	go func() {
		defer close(loadDone)
		lres, lerr = gen.Run(ctx, pub, plan)
		_ = pub.Close()
	}()
	fmt.Fprintf(o.Log, "bench: publishing %d messages (run %s)\n", len(sched), runID)
	var runErr error
	drainDeadline := time.Now().Add(time.Duration(s.Timeouts.Drain) + loadgen.Total(plan))
	var ids []string
	for ids == nil {
		select {
		case <-ctx.Done():
			<-loadDone
			return nil, ctx.Err()
		case <-loadDone:
			if lerr != nil {
				return nil, lerr
			}
			for _, m := range lres.Confirmed() {
				ids = append(ids, m.ID)
			}
			if ids == nil {
				ids = []string{}
			}
			rec.SetPublished(len(ids))
		case <-time.After(250 * time.Millisecond):
			progress("publishing", rec.Progress(time.Now()))
		}
	}
	if f := lres.Failed(); f > 0 {
		fmt.Fprintf(o.Log, "bench: %d messages were not confirmed by the broker (not counted as lost)\n", f)
	}

	// 3. Drain: every confirmed message done.
	if err := waitFor(ctx, time.Until(drainDeadline), func() bool {
		progress("draining", rec.Progress(time.Now()))
		return rec.Done(ids)
	}); err != nil {
		runErr = fmt.Errorf("not every message was done within %v of the load's end: %w", time.Duration(s.Timeouts.Drain), err)
	} else {
		rec.Mark(time.Now(), "drained")
		// 4. Back to rest.
		if err := waitFor(ctx, time.Duration(s.Timeouts.ScaleIn), func() bool {
			progress("scaling back to 0", rec.Progress(time.Now()))
			return atRest()
		}); err != nil {
			runErr = fmt.Errorf("target not back at 0 replicas with no pods within %v of draining: %w", time.Duration(s.Timeouts.ScaleIn), err)
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	time.Sleep(500 * time.Millisecond) // late records and events
	tl := stop()
	settings.LoadAfter = report.LoadAverage()
	settings.Fill()
	r := report.Build(report.Input{
		Settings: settings, Timeline: tl, Published: lres.Confirmed(), PublishFailed: lres.Failed(),
		LoadStart: lres.Start, LoadEnd: lres.End,
	})
	if runErr == nil && !r.Integrity.OK {
		runErr = fmt.Errorf("%d of %d messages lost", r.Integrity.Lost, r.Integrity.Published)
	}
	return &Result{Report: r, Err: runErr}, nil
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
