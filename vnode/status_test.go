package vnode

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/surge-autoscaler/surge/providers"
)

// running mirrors virtual-kubelet's test of whether a pod still runs: some
// container neither waiting nor terminated.
func vkRunning(st *corev1.PodStatus) bool {
	for _, c := range st.ContainerStatuses {
		if c.State.Terminated == nil && c.State.Waiting == nil {
			return true
		}
	}
	return false
}

func condStatus(st corev1.PodStatus, t corev1.PodConditionType) corev1.ConditionStatus {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Status
		}
	}
	return ""
}

func TestPodStatus(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	pod := basePod()
	pod.Status.QOSClass = corev1.PodQOSBurstable
	tests := []struct {
		name    string
		inst    providers.InstanceStatus
		phase   corev1.PodPhase
		ready   corev1.ConditionStatus
		state   string // waiting, running, terminated
		reason  string
		podIP   string
		running bool
	}{
		{name: "created", inst: providers.InstanceStatus{Phase: providers.PhasePending, CreatedAt: t0},
			phase: corev1.PodPending, ready: corev1.ConditionFalse, state: "waiting", reason: ReasonCreating},
		{name: "running", inst: providers.InstanceStatus{Phase: providers.PhaseRunning, CreatedAt: t0, StartedAt: t0, IP: "127.0.0.1",
			Containers: []providers.ContainerStatus{{Name: "c", State: providers.ContainerRunning, StartedAt: t0, Ready: true}}},
			phase: corev1.PodRunning, ready: corev1.ConditionTrue, state: "running", podIP: "127.0.0.1", running: true},
		{name: "back-off", inst: providers.InstanceStatus{Phase: providers.PhaseRunning, CreatedAt: t0, StartedAt: t0,
			Containers: []providers.ContainerStatus{{Name: "c", State: providers.ContainerWaiting, Reason: "CrashLoopBackOff", RestartCount: 2,
				StartedAt: t0, FinishedAt: t0.Add(time.Second), ExitCode: 1}}},
			phase: corev1.PodRunning, ready: corev1.ConditionFalse, state: "waiting", reason: "CrashLoopBackOff"},
		{name: "failed", inst: providers.InstanceStatus{Phase: providers.PhaseFailed, Reason: "Error", CreatedAt: t0, StartedAt: t0,
			Containers: []providers.ContainerStatus{{Name: "c", State: providers.ContainerTerminated, Reason: "Error", ExitCode: 3, StartedAt: t0, FinishedAt: t0.Add(time.Second)}}},
			phase: corev1.PodFailed, ready: corev1.ConditionFalse, state: "terminated", reason: "Error"},
		{name: "unknown maps to pending", inst: providers.InstanceStatus{Phase: providers.PhaseUnknown, CreatedAt: t0},
			phase: corev1.PodPending, ready: corev1.ConditionFalse, state: "waiting", reason: ReasonCreating},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := PodStatus(pod, &tc.inst, "10.0.0.9", "local")
			again := PodStatus(pod, &tc.inst, "10.0.0.9", "local")
			if !equality.Semantic.DeepEqual(st, again) {
				t.Fatal("PodStatus is not deterministic")
			}
			if st.Phase != tc.phase || condStatus(st, corev1.PodReady) != tc.ready || st.PodIP != tc.podIP ||
				st.HostIP != "10.0.0.9" || st.QOSClass != corev1.PodQOSBurstable || vkRunning(&st) != tc.running {
				t.Fatalf("status %+v", st)
			}
			cs := st.ContainerStatuses[0]
			switch tc.state {
			case "waiting":
				if cs.State.Waiting == nil || cs.State.Waiting.Reason != tc.reason {
					t.Fatalf("container %+v, want waiting %s", cs, tc.reason)
				}
			case "running":
				if cs.State.Running == nil || !cs.Ready || !*cs.Started {
					t.Fatalf("container %+v, want running and ready", cs)
				}
			case "terminated":
				if cs.State.Terminated == nil || cs.State.Terminated.Reason != tc.reason || cs.State.Terminated.ExitCode != 3 {
					t.Fatalf("container %+v, want terminated %s", cs, tc.reason)
				}
			}
			if tc.name == "back-off" && (cs.LastTerminationState.Terminated == nil || cs.RestartCount != 2) {
				t.Fatalf("back-off: %+v, want last termination and restart count", cs)
			}
		})
	}
}

func TestDeletedAndFailedStatusesStopVirtualKubelet(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	pod := basePod()
	inst := providers.InstanceStatus{Phase: providers.PhaseRunning, CreatedAt: t0, StartedAt: t0,
		Containers: []providers.ContainerStatus{{Name: "c", State: providers.ContainerRunning, StartedAt: t0, Ready: true, RestartCount: 1}}}
	last := PodStatus(pod, &inst, "127.0.0.1", "local")
	del := DeletedStatus(pod, &last, t0.Add(time.Minute))
	if vkRunning(&del) || del.Phase != corev1.PodSucceeded || condStatus(del, corev1.PodReady) != corev1.ConditionFalse {
		t.Fatalf("deleted status still running or ready: %+v", del)
	}
	if c := del.ContainerStatuses[0]; c.State.Terminated.Reason != ReasonDeleted || c.RestartCount != 1 || !c.State.Terminated.StartedAt.Equal(&last.ContainerStatuses[0].State.Running.StartedAt) {
		t.Fatalf("deleted container %+v", c)
	}
	if vkRunning(&last) == false {
		t.Fatal("precondition: the running status runs")
	}
	failed := FailedStatus(pod, ReasonUnsupported, "spec.hostNetwork: nope", "127.0.0.1", t0)
	if vkRunning(&failed) || failed.Phase != corev1.PodFailed || failed.Reason != ReasonUnsupported ||
		failed.ContainerStatuses[0].State.Waiting.Message != "spec.hostNetwork: nope" {
		t.Fatalf("failed status %+v", failed)
	}
}

func TestSameInstance(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	base := func() *providers.InstanceStatus {
		return &providers.InstanceStatus{Ref: providers.InstanceRef{UID: "u"}, Phase: providers.PhaseRunning, CreatedAt: t0, StartedAt: t0,
			Containers: []providers.ContainerStatus{{Name: "c", State: providers.ContainerRunning, StartedAt: t0, Ready: true}}}
	}
	tests := []struct {
		name string
		mut  func(*providers.InstanceStatus)
		same bool
	}{
		{"identical", func(*providers.InstanceStatus) {}, true},
		{"same instant, other location", func(s *providers.InstanceStatus) { s.StartedAt = t0.In(time.FixedZone("x", 3600)) }, true},
		{"phase", func(s *providers.InstanceStatus) { s.Phase = providers.PhaseFailed }, false},
		{"ip", func(s *providers.InstanceStatus) { s.IP = "1.2.3.4" }, false},
		{"restart", func(s *providers.InstanceStatus) { s.Containers[0].RestartCount = 1 }, false},
		{"ready", func(s *providers.InstanceStatus) { s.Containers[0].Ready = false }, false},
		{"finished", func(s *providers.InstanceStatus) { s.Containers[0].FinishedAt = t0 }, false},
		{"container added", func(s *providers.InstanceStatus) { s.Containers = append(s.Containers, providers.ContainerStatus{}) }, false},
		{"message", func(s *providers.InstanceStatus) { s.Containers[0].Message = "m" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := base()
			tc.mut(b)
			if got := sameInstance(base(), b); got != tc.same {
				t.Fatalf("sameInstance = %v, want %v", got, tc.same)
			}
		})
	}
}
