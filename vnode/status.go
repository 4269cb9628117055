package vnode

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/providers"
)

// Pod status reasons the virtual node sets.
const (
	ReasonUnsupported     = "UnsupportedPodSpec"
	ReasonInstanceLost    = "ProviderInstanceLost"
	ReasonDeleted         = "Deleted"
	ReasonCreating        = "ContainerCreating"
	containerIDSeparator  = "://"
	conditionReasonFailed = "PodFailed"
)

// PodStatus maps a backend's view of an instance to the pod's status. It is pure:
// every time in the result comes from the instance or the pod, never from a
// clock, so the same input always gives the same status and the tracker only
// notifies real changes. provider prefixes container IDs (e.g. "local").
func PodStatus(pod *corev1.Pod, inst *providers.InstanceStatus, nodeIP, provider string) corev1.PodStatus {
	st := corev1.PodStatus{
		Phase:    podPhase(inst.Phase),
		Reason:   inst.Reason,
		Message:  inst.Message,
		HostIP:   nodeIP,
		QOSClass: pod.Status.QOSClass,
	}
	if nodeIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: nodeIP}}
	}
	if inst.Phase != providers.PhaseFailed && inst.Phase != providers.PhaseUnknown {
		st.Reason, st.Message = "", "" // kubelet sets them only for failed pods
	}
	if inst.IP != "" {
		st.PodIP = inst.IP
		st.PodIPs = []corev1.PodIP{{IP: inst.IP}}
	}
	created := metav1.NewTime(inst.CreatedAt)
	if !inst.CreatedAt.IsZero() {
		st.StartTime = &created
	}
	allReady := len(pod.Spec.Containers) > 0
	var readySince, lastChange time.Time
	for _, c := range pod.Spec.Containers {
		cs := containerStatus(c, find(inst.Containers, c.Name), string(pod.UID), provider)
		allReady = allReady && cs.Ready
		if cs.State.Running != nil && cs.State.Running.StartedAt.After(readySince) {
			readySince = cs.State.Running.StartedAt.Time
		}
		if t := cs.State.Terminated; t != nil && t.FinishedAt.After(lastChange) {
			lastChange = t.FinishedAt.Time
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	ran := !inst.StartedAt.IsZero()
	readyTime := inst.CreatedAt
	if allReady {
		readyTime = readySince
	} else if lastChange.After(readyTime) {
		readyTime = lastChange
	}
	st.Conditions = []corev1.PodCondition{
		condition(corev1.PodReadyToStartContainers, ran && inst.Phase == providers.PhaseRunning || allReady, inst.CreatedAt, ""),
		condition(corev1.PodInitialized, true, inst.CreatedAt, ""),
		condition(corev1.ContainersReady, allReady, readyTime, notReadyReason(inst, allReady)),
		condition(corev1.PodReady, allReady, readyTime, notReadyReason(inst, allReady)),
		condition(corev1.PodScheduled, true, scheduledTime(pod, inst.CreatedAt), ""),
	}
	return st
}

func find(cs []providers.ContainerStatus, name string) *providers.ContainerStatus {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func podPhase(p providers.Phase) corev1.PodPhase {
	switch p {
	case providers.PhaseRunning:
		return corev1.PodRunning
	case providers.PhaseSucceeded:
		return corev1.PodSucceeded
	case providers.PhaseFailed:
		return corev1.PodFailed
	}
	return corev1.PodPending // Pending, and Unknown (deprecated in pods)
}

func containerStatus(c corev1.Container, s *providers.ContainerStatus, uid, provider string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, ImageID: c.Image}
	f := false
	cs.Started = &f
	if s == nil {
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: ReasonCreating}
		return cs
	}
	cs.RestartCount = s.RestartCount
	cs.ContainerID = provider + containerIDSeparator + uid + "/" + c.Name
	switch s.State {
	case providers.ContainerRunning:
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(s.StartedAt)}
		cs.Ready = s.Ready
		t := true
		cs.Started = &t
	case providers.ContainerTerminated:
		cs.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: s.ExitCode, Reason: s.Reason, Message: s.Message,
			StartedAt: metav1.NewTime(s.StartedAt), FinishedAt: metav1.NewTime(s.FinishedAt),
			ContainerID: cs.ContainerID,
		}
	default:
		reason := s.Reason
		if reason == "" {
			reason = ReasonCreating
		}
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: reason, Message: s.Message}
		if s.RestartCount > 0 && !s.FinishedAt.IsZero() {
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
				ExitCode: s.ExitCode, StartedAt: metav1.NewTime(s.StartedAt), FinishedAt: metav1.NewTime(s.FinishedAt),
				ContainerID: cs.ContainerID,
			}
		}
	}
	return cs
}

func condition(t corev1.PodConditionType, ok bool, at time.Time, reason string) corev1.PodCondition {
	c := corev1.PodCondition{Type: t, Status: corev1.ConditionFalse, LastTransitionTime: metav1.NewTime(at), Reason: reason}
	if ok {
		c.Status, c.Reason = corev1.ConditionTrue, ""
	}
	return c
}

func notReadyReason(inst *providers.InstanceStatus, ready bool) string {
	switch {
	case ready:
		return ""
	case inst.Phase == providers.PhaseSucceeded || inst.Phase == providers.PhaseFailed:
		return conditionReasonFailed
	}
	return "ContainersNotReady"
}

// scheduledTime keeps the scheduler's own PodScheduled time when the pod has one.
func scheduledTime(pod *corev1.Pod, fallback time.Time) time.Time {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && !c.LastTransitionTime.IsZero() {
			return c.LastTransitionTime.Time
		}
	}
	return fallback
}

// FailedStatus is the status of a pod the virtual node refuses or loses: phase
// Failed, with reason and message, every container waiting with the same reason.
func FailedStatus(pod *corev1.Pod, reason, message, nodeIP string, at time.Time) corev1.PodStatus {
	st := corev1.PodStatus{Phase: corev1.PodFailed, Reason: reason, Message: message, HostIP: nodeIP, QOSClass: pod.Status.QOSClass}
	if nodeIP != "" {
		st.HostIPs = []corev1.HostIP{{IP: nodeIP}}
	}
	for _, c := range pod.Spec.Containers {
		f := false
		st.ContainerStatuses = append(st.ContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, Started: &f,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}},
		})
	}
	st.Conditions = []corev1.PodCondition{
		condition(corev1.PodReady, false, at, conditionReasonFailed),
		condition(corev1.PodScheduled, true, scheduledTime(pod, at), ""),
	}
	return st
}

// DeletedStatus is the terminal status reported once a deleted pod's instance is
// gone: every container terminated with reason Deleted, so virtual-kubelet
// removes the pod from the API at once. The instance's exit codes are gone with
// it; the phase is Succeeded, as the kubelet reports containers that stopped on
// request.
func DeletedStatus(pod *corev1.Pod, last *corev1.PodStatus, at time.Time) corev1.PodStatus {
	st := corev1.PodStatus{Phase: corev1.PodSucceeded, QOSClass: pod.Status.QOSClass}
	if last != nil {
		st = *last.DeepCopy()
		st.Phase = corev1.PodSucceeded
		st.Reason, st.Message = "", ""
	}
	st.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		f := false
		cs := corev1.ContainerStatus{Name: c.Name, Image: c.Image, Started: &f}
		var started metav1.Time
		if last != nil {
			for _, l := range last.ContainerStatuses {
				if l.Name == c.Name {
					cs.RestartCount, cs.ContainerID, cs.ImageID = l.RestartCount, l.ContainerID, l.ImageID
					if l.State.Running != nil {
						started = l.State.Running.StartedAt
					}
				}
			}
		}
		cs.State.Terminated = &corev1.ContainerStateTerminated{Reason: ReasonDeleted,
			Message: "the instance was deleted with the pod", StartedAt: started, FinishedAt: metav1.NewTime(at), ContainerID: cs.ContainerID}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	for i := range st.Conditions {
		if t := st.Conditions[i].Type; t == corev1.PodReady || t == corev1.ContainersReady {
			st.Conditions[i] = condition(t, false, at, conditionReasonFailed)
		}
	}
	return st
}
