// Package watch records what happens during a bench run, only by watching from the
// outside: the queue's depth, the scale target's spec.replicas, the pods of the target
// and the records the workers send back. It never talks to the autoscaler, so it
// measures any autoscaler (Surge, KEDA, ...) the same way.
//
// The Recorder is the pure, concurrency-safe core (fed by the I/O sources in
// sources.go); the Timeline it produces is what bench/report computes from.
package watch

import (
	"time"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// Timeline is everything observed during a run. Times are the watcher's observation
// times (millisecond-precise), not the API objects' second-granular timestamps.
type Timeline struct {
	// Start is when recording began.
	Start time.Time `json:"start"`
	// End is when recording stopped.
	End time.Time `json:"end"`
	// Samples are periodic snapshots, in time order.
	Samples []Sample `json:"samples"`
	// Desired lists every observed value of the target's spec.replicas, in order.
	Desired []Change `json:"desired"`
	// Pods are the target's pods seen during the run, in order of first sight.
	Pods []PodTimes `json:"pods"`
	// Records are the workers' records for this run, in arrival order.
	Records []wire.Record `json:"records"`
	// Marks are labelled instants (load steps, "drained", ...), in time order.
	Marks []Mark `json:"marks"`
}

// Sample is one periodic snapshot.
type Sample struct {
	At time.Time `json:"at"`
	// Depth is the queue depth last measured (-1 before the first measurement).
	Depth int `json:"depth"`
	// Desired is the target's spec.replicas (-1 before it was seen).
	Desired int32 `json:"desired"`
	// Pods counts pods that exist and are not terminating; Scheduled, Running and Ready
	// count those of them in each state.
	Pods      int `json:"pods"`
	Scheduled int `json:"scheduled"`
	Running   int `json:"running"`
	Ready     int `json:"ready"`
	// Done counts the run's messages finished so far (unique ids).
	Done int `json:"done"`
}

// Change is a value observed at a time.
type Change struct {
	At    time.Time `json:"at"`
	Value int32     `json:"value"`
}

// Mark is a labelled instant on the timeline.
type Mark struct {
	At    time.Time `json:"at"`
	Label string    `json:"label"`
}

// PodTimes is when each state of one pod was first observed. A zero time means the
// state was never seen.
type PodTimes struct {
	Name string `json:"name"`
	UID  string `json:"uid"`
	Node string `json:"node,omitempty"`
	// Created is the first sight of the pod (close to its creation: the informer sees
	// the ADDED event within milliseconds on a local control plane).
	Created   time.Time `json:"created"`
	Scheduled time.Time `json:"scheduled,omitzero"`
	Running   time.Time `json:"running,omitzero"`
	Ready     time.Time `json:"ready,omitzero"`
	// Terminating is when a deletionTimestamp was first seen; Gone when the pod was
	// deleted from the API.
	Terminating time.Time `json:"terminating,omitzero"`
	Gone        time.Time `json:"gone,omitzero"`
	// Failed is set when the pod reached phase Failed (with Reason).
	Failed time.Time `json:"failed,omitzero"`
	Reason string    `json:"reason,omitempty"`
}

// PodState is what the recorder needs to know about a pod at one moment.
type PodState struct {
	Name, UID, Node string
	Scheduled       bool
	Running         bool
	Ready           bool
	Terminating     bool
	Failed          bool
	Reason          string
}

// Progress is a live summary for a progress display.
type Progress struct {
	Elapsed time.Duration
	Depth   int
	Desired int32
	Pods    int
	// Terminating counts pods being deleted (deletionTimestamp set, not yet gone).
	Terminating int
	Running     int
	Ready       int
	Done        int
	Published   int
}
