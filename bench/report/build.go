package report

import (
	"slices"
	"sort"
	"time"

	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/bench/wire"
)

// builder holds the intermediate results of Build.
type builder struct {
	in        Input
	tl        watch.Timeline
	r         *Report
	t0        time.Time
	published map[string]wire.Message
	firstDone map[string]wire.Record
	podByName map[string]*watch.PodTimes
	drained   time.Time
	// durations per phase name, and instants per milestone name
	phases  map[string][]time.Duration
	instant map[string]time.Time
	running []time.Duration // new pods' Running times since t0, for MsAllRunning
}

// Build computes the report.
func Build(in Input) *Report {
	b := &builder{in: in, tl: in.Timeline, phases: map[string][]time.Duration{}, instant: map[string]time.Time{}}
	b.r = &Report{Settings: in.Settings, T0: t0(in), Timeline: &b.tl}
	b.t0 = b.r.T0
	b.messages()
	b.pods()
	b.firstMessages()
	peak, baseline := b.desired()
	b.milestones(peak, baseline)
	order := []struct{ name, over string }{
		{PhCreated, "pod"}, {PhScheduled, "pod"}, {PhStarted, "pod"}, {PhReady, "pod"},
		{PhBurstRunning, "pod"}, {PhBurstFirstStart, "pod"}, {PhBurstFirstDone, "pod"},
		{PhQueueWait, "message"}, {PhWork, "message"}, {PhEndToEnd, "message"}, {PhTerminating, "pod"},
	}
	for _, o := range order {
		b.r.Phases = append(b.r.Phases, Phase{Name: o.name, Over: o.over, Stats: Summarize(b.phases[o.name])})
	}
	return b.r
}

func (b *builder) since(t time.Time) time.Duration { return t.Sub(b.t0) }

// messages does the accounting: lost, duplicates, requeued, per-message phases and
// the drained instant.
func (b *builder) messages() {
	in, r := b.in, b.r
	b.published = make(map[string]wire.Message, len(in.Published))
	for _, m := range in.Published {
		b.published[m.ID] = m
	}
	doneCount := map[string]int{}
	b.firstDone = map[string]wire.Record{}
	requeued := map[string]bool{}
	for _, rec := range b.tl.Records {
		if rec.Outcome == wire.OutcomeRequeued {
			requeued[rec.ID] = true
			continue
		}
		m, ok := b.published[rec.ID]
		if !ok {
			r.Integrity.Unexpected++
			continue
		}
		doneCount[rec.ID]++
		if doneCount[rec.ID] > 1 {
			r.Integrity.Duplicates++
			continue
		}
		b.firstDone[rec.ID] = rec
		b.phases[PhQueueWait] = append(b.phases[PhQueueWait], rec.StartTime().Sub(m.SentTime()))
		b.phases[PhWork] = append(b.phases[PhWork], rec.EndTime().Sub(rec.StartTime()))
		b.phases[PhEndToEnd] = append(b.phases[PhEndToEnd], rec.EndTime().Sub(m.SentTime()))
	}
	r.Integrity.Published = len(b.published)
	r.Integrity.PublishFailed = in.PublishFailed
	r.Integrity.Processed = len(b.firstDone)
	r.Integrity.Requeued = len(requeued)
	ids := make([]string, 0, len(b.published))
	for id := range b.published {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		rec, ok := b.firstDone[id]
		if !ok {
			r.Integrity.Lost++
			if len(r.Integrity.LostIDs) < maxLostIDs {
				r.Integrity.LostIDs = append(r.Integrity.LostIDs, id)
			}
			continue
		}
		b.drained = latest(b.drained, rec.EndTime())
	}
	r.Integrity.OK = r.Integrity.Lost == 0 && r.Integrity.Published > 0
}

// pods counts the pods and collects their per-pod phases; pods created before t0 are
// pre-existing and left out of the phases.
func (b *builder) pods() {
	r := b.r
	b.podByName = map[string]*watch.PodTimes{}
	nodes := map[string]bool{}
	add := func(name string, d time.Duration) { b.phases[name] = append(b.phases[name], d) }
	for i := range b.tl.Pods {
		p := &b.tl.Pods[i]
		b.podByName[p.Name] = p
		if p.Node != "" {
			nodes[p.Node] = true
		}
		if !p.Failed.IsZero() {
			r.Pods.Failed++
			if p.Reason != "" && !slices.Contains(r.Pods.Reasons, p.Reason) {
				r.Pods.Reasons = append(r.Pods.Reasons, p.Reason)
			}
		}
		if p.Created.Before(b.t0) {
			r.Pods.PreExisting++
			continue
		}
		r.Pods.New++
		add(PhCreated, b.since(p.Created))
		if !p.Scheduled.IsZero() {
			add(PhScheduled, p.Scheduled.Sub(p.Created))
			b.instant[MsFirstScheduled] = earliest(b.instant[MsFirstScheduled], p.Scheduled)
		}
		if !p.Running.IsZero() {
			if !p.Scheduled.IsZero() {
				add(PhStarted, p.Running.Sub(p.Scheduled))
			}
			add(PhBurstRunning, b.since(p.Running))
			b.running = append(b.running, b.since(p.Running))
			b.instant[MsFirstRunning] = earliest(b.instant[MsFirstRunning], p.Running)
		}
		if !p.Ready.IsZero() && !p.Running.IsZero() {
			add(PhReady, p.Ready.Sub(p.Running))
		}
		if !p.Terminating.IsZero() && !p.Gone.IsZero() {
			add(PhTerminating, p.Gone.Sub(p.Terminating))
		}
	}
	r.Pods.Nodes = sortedKeys(nodes)
}

// firstMessages finds the first message started and done on each new pod.
func (b *builder) firstMessages() {
	firstStart, firstDone := map[string]time.Time{}, map[string]time.Time{}
	for _, rec := range b.tl.Records {
		if rec.Outcome != wire.OutcomeDone {
			continue
		}
		if _, ok := b.published[rec.ID]; !ok {
			continue
		}
		b.instant[MsFirstDone] = earliest(b.instant[MsFirstDone], rec.EndTime())
		p, ok := b.podByName[rec.Pod]
		if !ok || p.Created.Before(b.t0) {
			continue
		}
		firstStart[rec.Pod] = earliest(firstStart[rec.Pod], rec.StartTime())
		firstDone[rec.Pod] = earliest(firstDone[rec.Pod], rec.EndTime())
	}
	for pod, t := range firstStart {
		b.phases[PhBurstFirstStart] = append(b.phases[PhBurstFirstStart], b.since(t))
		b.phases[PhBurstFirstDone] = append(b.phases[PhBurstFirstDone], b.since(firstDone[pod]))
	}
}

// desired finds detection, the peak and the return to the baseline (spec.replicas
// at t0) in the target's replica changes.
func (b *builder) desired() (peak, baseline int32) {
	for _, c := range b.tl.Desired {
		if !c.At.After(b.t0) {
			baseline = c.Value
		}
	}
	peak = baseline
	for _, c := range b.tl.Desired {
		if !c.At.After(b.t0) {
			continue
		}
		if c.Value > baseline && b.instant[MsDetected].IsZero() {
			b.instant[MsDetected] = c.At
		}
		if c.Value > peak {
			peak, b.instant[MsPeakDesired] = c.Value, c.At
		}
	}
	if b.drained.IsZero() || b.instant[MsDetected].IsZero() {
		return peak, baseline
	}
	for _, c := range b.tl.Desired {
		if c.At.After(b.drained) && c.Value <= baseline {
			b.instant[MsScaledToZero] = c.At
			break
		}
	}
	return peak, baseline
}

// milestones fills the pod summary's peaks and the milestone list.
func (b *builder) milestones(peak, baseline int32) {
	r := b.r
	r.Pods.PeakDesired = int(peak)
	for _, s := range b.tl.Samples {
		if s.Running > r.Pods.PeakRunning && s.At.After(b.t0) {
			r.Pods.PeakRunning, b.instant[MsPeakRunning] = s.Running, s.At
		}
	}
	slices.Sort(b.running)
	if n := int(peak); n > 0 && len(b.running) >= n {
		b.instant[MsAllRunning] = b.t0.Add(b.running[n-1])
	}
	if r.Pods.New > 0 {
		var gone time.Time
		for _, p := range b.tl.Pods {
			if p.Created.Before(b.t0) {
				continue
			}
			if p.Gone.IsZero() {
				gone = time.Time{}
				break
			}
			gone = latest(gone, p.Gone)
		}
		b.instant[MsPodsGone] = gone
	}
	b.instant[MsPublished] = b.in.LoadEnd
	b.instant[MsDrained] = b.drained
	values := map[string]int{
		MsPublished: r.Integrity.Published, MsPeakDesired: int(peak), MsAllRunning: int(peak),
		MsPeakRunning: r.Pods.PeakRunning, MsDrained: r.Integrity.Processed, MsScaledToZero: int(baseline),
	}
	for _, name := range []string{MsPublished, MsDetected, MsPeakDesired, MsFirstScheduled, MsFirstRunning,
		MsFirstDone, MsAllRunning, MsPeakRunning, MsDrained, MsScaledToZero, MsPodsGone} {
		at := b.instant[name]
		m := Milestone{Name: name, Reached: !at.IsZero(), Value: values[name]}
		if m.Reached {
			m.After = b.since(at)
			m.Ms = millis(m.After)
		}
		r.Milestones = append(r.Milestones, m)
	}
}
