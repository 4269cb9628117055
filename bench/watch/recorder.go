package watch

import (
	"slices"
	"sync"
	"time"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// Recorder accumulates observations. All methods are safe for concurrent use and
// cheap: they are called from informer handlers and the depth poller.
type Recorder struct {
	run string

	mu        sync.Mutex
	start     time.Time
	depth     int
	desired   int32
	pods      []PodTimes
	podIndex  map[string]int       // UID → index in pods
	live      map[string]*PodState // UID → latest state of pods not yet gone
	counts    Sample               // Pods/Scheduled/Running/Ready of live pods
	records   []wire.Record
	doneIDs   map[string]struct{}
	samples   []Sample
	changes   []Change
	marks     []Mark
	published int
}

// NewRecorder returns a recorder for run, starting at start. Records of other runs
// are ignored.
func NewRecorder(run string, start time.Time) *Recorder {
	return &Recorder{
		run:      run,
		start:    start,
		depth:    -1,
		desired:  -1,
		podIndex: map[string]int{},
		live:     map[string]*PodState{},
		doneIDs:  map[string]struct{}{},
	}
}

// ObserveDepth records the queue depth measured at at.
func (r *Recorder) ObserveDepth(at time.Time, depth int) {
	r.mu.Lock()
	r.depth = depth
	r.mu.Unlock()
}

// ObserveDesired records the target's spec.replicas seen at at; repeated values
// are not recorded again.
func (r *Recorder) ObserveDesired(at time.Time, replicas int32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if replicas == r.desired {
		return
	}
	r.desired = replicas
	r.changes = append(r.changes, Change{At: at, Value: replicas})
}

// ObservePod records the state of one pod seen at at.
func (r *Recorder) ObservePod(at time.Time, s PodState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.podIndex[s.UID]
	if !ok {
		i = len(r.pods)
		r.podIndex[s.UID] = i
		r.pods = append(r.pods, PodTimes{Name: s.Name, UID: s.UID, Created: at})
	}
	p := &r.pods[i]
	if !p.Gone.IsZero() {
		return // a late event for a pod already deleted
	}
	if s.Node != "" {
		p.Node = s.Node
	}
	setOnce(&p.Scheduled, s.Scheduled, at)
	setOnce(&p.Running, s.Running, at)
	setOnce(&p.Ready, s.Ready, at)
	setOnce(&p.Terminating, s.Terminating, at)
	if s.Failed && p.Failed.IsZero() {
		p.Failed, p.Reason = at, s.Reason
	}
	prev := r.live[s.UID]
	r.count(prev, -1)
	st := s
	r.live[s.UID] = &st
	r.count(&st, +1)
}

// ObservePodGone records that the pod with uid was deleted at at.
func (r *Recorder) ObservePodGone(at time.Time, uid string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i, ok := r.podIndex[uid]
	if !ok || !r.pods[i].Gone.IsZero() {
		return
	}
	r.pods[i].Gone = at
	r.count(r.live[uid], -1)
	delete(r.live, uid)
}

// count adds sign × s to the live counters. Terminating pods are not counted.
func (r *Recorder) count(s *PodState, sign int) {
	if s == nil || s.Terminating {
		return
	}
	r.counts.Pods += sign
	if s.Scheduled {
		r.counts.Scheduled += sign
	}
	if s.Running {
		r.counts.Running += sign
	}
	if s.Ready {
		r.counts.Ready += sign
	}
}

func setOnce(t *time.Time, cond bool, at time.Time) {
	if cond && t.IsZero() {
		*t = at
	}
}

// AddRecord records a worker's record; records of other runs are ignored. It
// reports whether the record belonged to this run.
func (r *Recorder) AddRecord(rec wire.Record) bool {
	if rec.Run != r.run {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec)
	if rec.Outcome == wire.OutcomeDone {
		r.doneIDs[rec.ID] = struct{}{}
	}
	return true
}

// SetPublished sets the number of messages confirmed so far (for progress).
func (r *Recorder) SetPublished(n int) {
	r.mu.Lock()
	r.published = n
	r.mu.Unlock()
}

// Mark adds a labelled instant.
func (r *Recorder) Mark(at time.Time, label string) {
	r.mu.Lock()
	r.marks = append(r.marks, Mark{At: at, Label: label})
	r.mu.Unlock()
}

// Sample takes a periodic snapshot at at and returns it.
func (r *Recorder) Sample(at time.Time) Sample {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.counts
	s.At, s.Depth, s.Desired, s.Done = at, r.depth, r.desired, len(r.doneIDs)
	r.samples = append(r.samples, s)
	return s
}

// Progress returns the live summary at now.
func (r *Recorder) Progress(now time.Time) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return Progress{
		Elapsed: now.Sub(r.start), Depth: r.depth, Desired: r.desired,
		Pods: r.counts.Pods, Terminating: len(r.live) - r.counts.Pods, Running: r.counts.Running, Ready: r.counts.Ready,
		Done: len(r.doneIDs), Published: r.published,
	}
}

// Done reports whether every id in ids has a done record.
func (r *Recorder) Done(ids []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if _, ok := r.doneIDs[id]; !ok {
			return false
		}
	}
	return true
}

// Timeline returns a copy of everything recorded, ending at end.
func (r *Recorder) Timeline(end time.Time) Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := Timeline{
		Start:   r.start,
		End:     end,
		Samples: slices.Clone(r.samples),
		Desired: slices.Clone(r.changes),
		Pods:    slices.Clone(r.pods),
		Records: slices.Clone(r.records),
		Marks:   slices.Clone(r.marks),
	}
	slices.SortStableFunc(t.Marks, func(a, b Mark) int { return a.At.Compare(b.At) })
	return t
}
