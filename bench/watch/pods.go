package watch

import (
	corev1 "k8s.io/api/core/v1"
)

// StateOf reduces a pod to what the recorder tracks.
//
//   - Scheduled: spec.nodeName is set (the binding happened).
//   - Running: phase Running, or any container running (a pod can be Running with a
//     container that has not yet become ready).
//   - Ready: the Ready condition is True.
//   - Terminating: a deletionTimestamp is set.
//   - Failed: phase Failed, with the pod's reason (or the first container's).
func StateOf(p *corev1.Pod) PodState {
	s := PodState{
		Name:        p.Name,
		UID:         string(p.UID),
		Node:        p.Spec.NodeName,
		Scheduled:   p.Spec.NodeName != "",
		Running:     p.Status.Phase == corev1.PodRunning,
		Terminating: p.DeletionTimestamp != nil,
		Failed:      p.Status.Phase == corev1.PodFailed,
	}
	for _, c := range p.Status.ContainerStatuses {
		if c.State.Running != nil && p.Status.Phase != corev1.PodFailed && p.Status.Phase != corev1.PodSucceeded {
			s.Running = true
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			s.Ready = true
		}
	}
	if s.Failed {
		s.Reason = p.Status.Reason
		if s.Reason == "" {
			for _, c := range p.Status.ContainerStatuses {
				if t := c.State.Terminated; t != nil && t.Reason != "" {
					s.Reason = t.Reason
					break
				}
			}
		}
	}
	return s
}
