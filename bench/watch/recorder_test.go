package watch

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/bench/wire"
)

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ms(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }

func TestRecorderPodLifecycle(t *testing.T) {
	r := NewRecorder("run", t0)
	r.ObservePod(ms(10), PodState{Name: "a", UID: "u1"})
	r.ObservePod(ms(20), PodState{Name: "a", UID: "u1", Node: "vn", Scheduled: true})
	r.ObservePod(ms(30), PodState{Name: "a", UID: "u1", Node: "vn", Scheduled: true, Running: true})
	r.ObservePod(ms(35), PodState{Name: "a", UID: "u1", Node: "vn", Scheduled: true, Running: true}) // repeat
	r.ObservePod(ms(40), PodState{Name: "a", UID: "u1", Node: "vn", Scheduled: true, Running: true, Ready: true})
	r.ObservePod(ms(15), PodState{Name: "b", UID: "u2"})

	s := r.Sample(ms(50))
	if s.Pods != 2 || s.Scheduled != 1 || s.Running != 1 || s.Ready != 1 {
		t.Fatalf("sample = %+v", s)
	}
	r.ObservePod(ms(60), PodState{Name: "a", UID: "u1", Node: "vn", Scheduled: true, Running: true, Ready: true, Terminating: true})
	if s := r.Sample(ms(61)); s.Pods != 1 || s.Running != 0 {
		t.Fatalf("terminating pod still counted: %+v", s)
	}
	if p := r.Progress(ms(61)); p.Terminating != 1 || p.Pods != 1 {
		t.Fatalf("progress = %+v, want 1 terminating", p)
	}
	r.ObservePodGone(ms(70), "u1")
	r.ObservePodGone(ms(71), "u1")                                      // repeat
	r.ObservePod(ms(72), PodState{Name: "a", UID: "u1", Running: true}) // late event
	r.ObservePod(ms(80), PodState{Name: "b", UID: "u2", Failed: true, Reason: "ImageNotMapped"})
	r.ObservePodGone(ms(90), "unknown")

	tl := r.Timeline(ms(100))
	if len(tl.Pods) != 2 {
		t.Fatalf("pods = %+v", tl.Pods)
	}
	a := tl.Pods[0]
	want := PodTimes{Name: "a", UID: "u1", Node: "vn", Created: ms(10), Scheduled: ms(20), Running: ms(30),
		Ready: ms(40), Terminating: ms(60), Gone: ms(70)}
	if a != want {
		t.Fatalf("pod a = %+v\nwant     %+v", a, want)
	}
	if b := tl.Pods[1]; b.Failed != ms(80) || b.Reason != "ImageNotMapped" || !b.Running.IsZero() {
		t.Fatalf("pod b = %+v", b)
	}
	if s := r.Sample(ms(101)); s.Pods != 1 || s.Running != 0 || s.Scheduled != 0 {
		t.Fatalf("after gone: %+v", s)
	}
}

func TestRecorderDesiredAndRecords(t *testing.T) {
	r := NewRecorder("run", t0)
	r.ObserveDesired(ms(1), 0)
	r.ObserveDesired(ms(2), 0)
	r.ObserveDesired(ms(3), 30)
	r.ObserveDesired(ms(4), 30)
	r.ObserveDesired(ms(5), 0)
	tl := r.Timeline(ms(6))
	want := []Change{{ms(1), 0}, {ms(3), 30}, {ms(5), 0}}
	if fmt.Sprint(tl.Desired) != fmt.Sprint(want) {
		t.Fatalf("desired = %v, want %v", tl.Desired, want)
	}

	if r.AddRecord(wire.Record{ID: "x", Run: "other", Outcome: wire.OutcomeDone}) {
		t.Fatal("record of another run accepted")
	}
	r.AddRecord(wire.Record{ID: "m1", Run: "run", Outcome: wire.OutcomeRequeued})
	if r.Done([]string{"m1"}) {
		t.Fatal("a requeued record counts as done")
	}
	r.AddRecord(wire.Record{ID: "m1", Run: "run", Outcome: wire.OutcomeDone})
	r.AddRecord(wire.Record{ID: "m1", Run: "run", Outcome: wire.OutcomeDone})
	if !r.Done([]string{"m1"}) || r.Done([]string{"m1", "m2"}) {
		t.Fatal("Done wrong")
	}
	r.ObserveDepth(ms(7), 12)
	r.SetPublished(3)
	p := r.Progress(ms(1007))
	if p.Depth != 12 || p.Desired != 0 || p.Done != 1 || p.Published != 3 || p.Elapsed != 1007*time.Millisecond {
		t.Fatalf("progress = %+v", p)
	}
	r.Mark(ms(9), "late")
	r.Mark(ms(8), "early")
	if tl := r.Timeline(ms(10)); len(tl.Records) != 3 || tl.Marks[0].Label != "early" {
		t.Fatalf("records %d, marks %v", len(tl.Records), tl.Marks)
	}
}

func TestStateOf(t *testing.T) {
	now := metav1.Now()
	tests := []struct {
		name string
		pod  corev1.Pod
		want PodState
	}{
		{name: "pending", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}},
			want: PodState{Name: "p", UID: "u"}},
		{name: "bound", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}, Spec: corev1.PodSpec{NodeName: "vn"}},
			want: PodState{Name: "p", UID: "u", Node: "vn", Scheduled: true}},
		{name: "container running before phase", pod: corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}, Spec: corev1.PodSpec{NodeName: "vn"},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}},
			want: PodState{Name: "p", UID: "u", Node: "vn", Scheduled: true, Running: true}},
		{name: "ready", pod: corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"}, Spec: corev1.PodSpec{NodeName: "vn"},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
				{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}},
			want: PodState{Name: "p", UID: "u", Node: "vn", Scheduled: true, Running: true, Ready: true}},
		{name: "terminating", pod: corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u", DeletionTimestamp: &now}},
			want: PodState{Name: "p", UID: "u", Terminating: true}},
		{name: "failed with container reason", pod: corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u"},
			Status: corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error"}}}}}},
			want: PodState{Name: "p", UID: "u", Failed: true, Reason: "Error"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := StateOf(&tt.pod); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// BenchmarkRecorderObservePod is the watcher's hot path: one informer update.
func BenchmarkRecorderObservePod(b *testing.B) {
	r := NewRecorder("run", t0)
	const pods = 100
	states := make([]PodState, pods)
	for i := range states {
		states[i] = PodState{Name: fmt.Sprintf("p%d", i), UID: fmt.Sprintf("u%d", i), Node: "vn", Scheduled: true}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		s := states[i%pods]
		s.Running = i%2 == 0
		r.ObservePod(t0, s)
		i++
	}
}

// BenchmarkRecorderSample is the periodic snapshot (10 per second).
func BenchmarkRecorderSample(b *testing.B) {
	r := NewRecorder("run", t0)
	b.ReportAllocs()
	for b.Loop() {
		r.Sample(t0)
	}
}

// BenchmarkRecorderAddRecord is one worker record arriving.
func BenchmarkRecorderAddRecord(b *testing.B) {
	r := NewRecorder("run", t0)
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = fmt.Sprintf("run-%06d", i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r.AddRecord(wire.Record{ID: ids[i%len(ids)], Run: "run", Outcome: wire.OutcomeDone})
		i++
	}
}
