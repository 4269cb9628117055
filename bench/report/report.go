// Package report turns a bench run's timeline into figures: milestones (burst →
// detected → desired replicas → pods Running → drained → back to zero), per-phase
// distributions (p50/p95/max over pods and over messages), the integrity check
// (messages lost must be 0, duplicates counted), a text table, JSON and a timeline PNG.
package report

import (
	"slices"
	"sort"
	"time"

	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/bench/wire"
)

// Input is what a report is computed from.
type Input struct {
	Settings Settings
	Timeline watch.Timeline
	// Published are the messages the broker confirmed: the ground truth for losses.
	Published []wire.Message
	// PublishFailed counts messages the broker did not confirm (not counted as lost).
	PublishFailed int
	// LoadStart is the plan's time zero, LoadEnd when the last confirm arrived.
	LoadStart, LoadEnd time.Time
}

// Report is a bench run's result.
type Report struct {
	Settings   Settings        `json:"settings"`
	T0         time.Time       `json:"t0"`
	Milestones []Milestone     `json:"milestones"`
	Phases     []Phase         `json:"phases"`
	Integrity  Integrity       `json:"integrity"`
	Pods       PodSummary      `json:"pods"`
	Timeline   *watch.Timeline `json:"timeline,omitempty"`
}

// Milestone is a single instant of the run, as a duration since T0 (the first
// message sent). Reached is false when the run never got there.
type Milestone struct {
	Name    string        `json:"name"`
	Reached bool          `json:"reached"`
	After   time.Duration `json:"-"`
	Ms      float64       `json:"ms"`
	// Value is what was reached, where that is a number (e.g. the peak replicas).
	Value int `json:"value,omitempty"`
}

// Phase is a distribution over pods or messages.
type Phase struct {
	Name string `json:"name"`
	// Over is what each value belongs to: "pod" or "message".
	Over string `json:"over"`
	Stats
}

// Integrity is the message accounting.
type Integrity struct {
	Published     int `json:"published"`
	PublishFailed int `json:"publish_failed"`
	// Processed counts published messages with at least one done record.
	Processed int `json:"processed"`
	// Lost counts published messages without any done record; it must be 0.
	Lost    int      `json:"lost"`
	LostIDs []string `json:"lost_ids,omitempty"` // the first few
	// Duplicates counts done records beyond the first for a message.
	Duplicates int `json:"duplicates"`
	// Requeued counts messages given back by a stopping worker (then done elsewhere).
	Requeued int `json:"requeued"`
	// Unexpected counts done records for ids this run did not publish (or publish
	// failed).
	Unexpected int  `json:"unexpected"`
	OK         bool `json:"ok"`
}

// PodSummary counts the target's pods.
type PodSummary struct {
	// New counts pods created after T0; PreExisting the others.
	New         int      `json:"new"`
	PreExisting int      `json:"pre_existing"`
	Failed      int      `json:"failed"`
	Reasons     []string `json:"failure_reasons,omitempty"`
	PeakDesired int      `json:"peak_desired"`
	PeakRunning int      `json:"peak_running"`
	// Nodes lists the nodes the pods ran on.
	Nodes []string `json:"nodes,omitempty"`
}

// Milestone and phase names; the table and the timeline use them.
const (
	MsPublished       = "all messages confirmed"
	MsDetected        = "burst → desired replicas raised (detected)"
	MsPeakDesired     = "burst → peak desired replicas"
	MsFirstScheduled  = "burst → first pod scheduled"
	MsFirstRunning    = "burst → first pod Running"
	MsFirstDone       = "burst → first message done"
	MsAllRunning      = "burst → peak replicas all Running"
	MsPeakRunning     = "burst → peak pods Running"
	MsDrained         = "burst → queue drained (all done)"
	MsScaledToZero    = "burst → desired back to start"
	MsPodsGone        = "burst → all pods gone"
	PhCreated         = "burst → pod created"
	PhScheduled       = "pod created → scheduled"
	PhStarted         = "pod scheduled → Running"
	PhReady           = "pod Running → Ready"
	PhBurstRunning    = "burst → pod Running"
	PhBurstFirstStart = "burst → first message started on new pod"
	PhBurstFirstDone  = "burst → first message done on new pod"
	PhQueueWait       = "message sent → work started"
	PhWork            = "message work (start → end)"
	PhEndToEnd        = "message sent → done"
	PhTerminating     = "pod terminating → gone (scale-in)"
)

// maxLostIDs bounds LostIDs.
const maxLostIDs = 20

// Build computes the report.
func Build(in Input) *Report {
	tl := in.Timeline
	r := &Report{Settings: in.Settings, T0: t0(in), Timeline: &tl}
	t0 := r.T0
	since := func(t time.Time) time.Duration { return t.Sub(t0) }

	// Message accounting.
	published := make(map[string]wire.Message, len(in.Published))
	for _, m := range in.Published {
		published[m.ID] = m
	}
	doneCount := map[string]int{}
	firstDone := map[string]wire.Record{}
	requeued := map[string]bool{}
	var queueWait, work, e2e []time.Duration
	for _, rec := range tl.Records {
		if rec.Outcome == wire.OutcomeRequeued {
			requeued[rec.ID] = true
			continue
		}
		m, ok := published[rec.ID]
		if !ok {
			r.Integrity.Unexpected++
			continue
		}
		doneCount[rec.ID]++
		if doneCount[rec.ID] > 1 {
			r.Integrity.Duplicates++
			continue
		}
		firstDone[rec.ID] = rec
		queueWait = append(queueWait, rec.StartTime().Sub(m.SentTime()))
		work = append(work, rec.EndTime().Sub(rec.StartTime()))
		e2e = append(e2e, rec.EndTime().Sub(m.SentTime()))
	}
	r.Integrity.Published = len(published)
	r.Integrity.PublishFailed = in.PublishFailed
	r.Integrity.Processed = len(firstDone)
	r.Integrity.Requeued = len(requeued)
	ids := make([]string, 0, len(published))
	for id := range published {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var drained time.Time
	for _, id := range ids {
		rec, ok := firstDone[id]
		if !ok {
			r.Integrity.Lost++
			if len(r.Integrity.LostIDs) < maxLostIDs {
				r.Integrity.LostIDs = append(r.Integrity.LostIDs, id)
			}
			continue
		}
		if e := rec.EndTime(); e.After(drained) {
			drained = e
		}
	}
	r.Integrity.OK = r.Integrity.Lost == 0 && r.Integrity.Published > 0

	// Pods.
	podByName := map[string]*watch.PodTimes{}
	var created, scheduled, started, ready, burstRunning, runningTimes, terminating []time.Duration
	var firstScheduled, firstRunning time.Time
	nodes := map[string]bool{}
	for i := range tl.Pods {
		p := &tl.Pods[i]
		podByName[p.Name] = p
		if p.Node != "" {
			nodes[p.Node] = true
		}
		if !p.Failed.IsZero() {
			r.Pods.Failed++
			if p.Reason != "" && !slices.Contains(r.Pods.Reasons, p.Reason) {
				r.Pods.Reasons = append(r.Pods.Reasons, p.Reason)
			}
		}
		if p.Created.Before(t0) {
			r.Pods.PreExisting++
			continue
		}
		r.Pods.New++
		created = append(created, since(p.Created))
		if !p.Scheduled.IsZero() {
			scheduled = append(scheduled, p.Scheduled.Sub(p.Created))
			firstScheduled = earliest(firstScheduled, p.Scheduled)
		}
		if !p.Running.IsZero() {
			if !p.Scheduled.IsZero() {
				started = append(started, p.Running.Sub(p.Scheduled))
			}
			burstRunning = append(burstRunning, since(p.Running))
			runningTimes = append(runningTimes, since(p.Running))
			firstRunning = earliest(firstRunning, p.Running)
		}
		if !p.Ready.IsZero() && !p.Running.IsZero() {
			ready = append(ready, p.Ready.Sub(p.Running))
		}
		if !p.Terminating.IsZero() && !p.Gone.IsZero() {
			terminating = append(terminating, p.Gone.Sub(p.Terminating))
		}
	}
	r.Pods.Nodes = sortedKeys(nodes)

	// First message per new pod.
	podFirstStart, podFirstDone := map[string]time.Time{}, map[string]time.Time{}
	var firstDoneAny time.Time
	for _, rec := range tl.Records {
		if rec.Outcome != wire.OutcomeDone {
			continue
		}
		if _, ok := published[rec.ID]; !ok {
			continue
		}
		firstDoneAny = earliest(firstDoneAny, rec.EndTime())
		p, ok := podByName[rec.Pod]
		if !ok || p.Created.Before(t0) {
			continue
		}
		podFirstStart[rec.Pod] = earliest(podFirstStart[rec.Pod], rec.StartTime())
		podFirstDone[rec.Pod] = earliest(podFirstDone[rec.Pod], rec.EndTime())
	}
	var firstStartOnPod, firstDoneOnPod []time.Duration
	for pod, t := range podFirstStart {
		firstStartOnPod = append(firstStartOnPod, since(t))
		firstDoneOnPod = append(firstDoneOnPod, since(podFirstDone[pod]))
	}

	// Desired replicas.
	baseline := int32(0)
	for _, c := range tl.Desired {
		if !c.At.After(t0) {
			baseline = c.Value
		}
	}
	var detected, peakAt, backAt time.Time
	peak := baseline
	for _, c := range tl.Desired {
		if !c.At.After(t0) {
			continue
		}
		if c.Value > baseline && detected.IsZero() {
			detected = c.At
		}
		if c.Value > peak {
			peak, peakAt = c.Value, c.At
		}
	}
	for _, c := range tl.Desired {
		if !drained.IsZero() && c.At.After(drained) && c.Value <= baseline && backAt.IsZero() && !detected.IsZero() {
			backAt = c.At
		}
	}
	r.Pods.PeakDesired = int(peak)
	var peakRunningAt time.Time
	for _, s := range tl.Samples {
		if s.Running > r.Pods.PeakRunning && s.At.After(t0) {
			r.Pods.PeakRunning, peakRunningAt = s.Running, s.At
		}
	}
	var allRunning time.Time
	slices.Sort(runningTimes)
	if n := int(peak); n > 0 && len(runningTimes) >= n {
		allRunning = t0.Add(runningTimes[n-1])
	}
	var podsGone time.Time
	if r.Pods.New > 0 {
		for _, p := range tl.Pods {
			if p.Created.Before(t0) {
				continue
			}
			if p.Gone.IsZero() {
				podsGone = time.Time{}
				break
			}
			podsGone = latest(podsGone, p.Gone)
		}
	}

	ms := func(name string, at time.Time, value int) Milestone {
		m := Milestone{Name: name, Reached: !at.IsZero(), Value: value}
		if m.Reached {
			m.After = since(at)
			m.Ms = millis(m.After)
		}
		return m
	}
	r.Milestones = []Milestone{
		ms(MsPublished, in.LoadEnd, r.Integrity.Published),
		ms(MsDetected, detected, 0),
		ms(MsPeakDesired, peakAt, int(peak)),
		ms(MsFirstScheduled, firstScheduled, 0),
		ms(MsFirstRunning, firstRunning, 0),
		ms(MsFirstDone, firstDoneAny, 0),
		ms(MsAllRunning, allRunning, int(peak)),
		ms(MsPeakRunning, peakRunningAt, r.Pods.PeakRunning),
		ms(MsDrained, drained, r.Integrity.Processed),
		ms(MsScaledToZero, backAt, int(baseline)),
		ms(MsPodsGone, podsGone, 0),
	}
	phase := func(name, over string, ds []time.Duration) Phase {
		return Phase{Name: name, Over: over, Stats: Summarize(ds)}
	}
	r.Phases = []Phase{
		phase(PhCreated, "pod", created),
		phase(PhScheduled, "pod", scheduled),
		phase(PhStarted, "pod", started),
		phase(PhReady, "pod", ready),
		phase(PhBurstRunning, "pod", burstRunning),
		phase(PhBurstFirstStart, "pod", firstStartOnPod),
		phase(PhBurstFirstDone, "pod", firstDoneOnPod),
		phase(PhQueueWait, "message", queueWait),
		phase(PhWork, "message", work),
		phase(PhEndToEnd, "message", e2e),
		phase(PhTerminating, "pod", terminating),
	}
	return r
}

// t0 is the first message's send time (the burst), else the load's start.
func t0(in Input) time.Time {
	var t time.Time
	for _, m := range in.Published {
		t = earliest(t, m.SentTime())
	}
	if t.IsZero() {
		t = in.LoadStart
	}
	return t
}

// Milestone returns the milestone named name, or a zero Milestone.
func (r *Report) Milestone(name string) Milestone {
	for _, m := range r.Milestones {
		if m.Name == name {
			return m
		}
	}
	return Milestone{}
}

// Phase returns the phase named name, or a zero Phase.
func (r *Report) Phase(name string) Phase {
	for _, p := range r.Phases {
		if p.Name == name {
			return p
		}
	}
	return Phase{}
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
