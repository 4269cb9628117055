// Package report turns a bench run's timeline into figures: milestones (burst →
// detected → desired replicas → pods Running → drained → back to zero), per-phase
// distributions (p50/p95/max over pods and over messages), the integrity check
// (messages lost must be 0, duplicates counted), a text table, JSON and a timeline PNG.
package report

import (
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
