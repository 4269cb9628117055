package aci

import (
	"fmt"
	"strings"
	"time"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

// Reasons this backend puts in InstanceStatus.Reason.
const (
	ReasonProvisioningFailed   = "ProvisioningFailed"
	ReasonProvisioningCanceled = "ProvisioningCanceled"
	ReasonQuotaExceeded        = "QuotaExceeded"
	ReasonDeleting             = "Deleting"
	ReasonStopped              = "Stopped"
	ReasonError                = "Error"
	ReasonCompleted            = "Completed"
)

// groupStatus maps a container group to an InstanceStatus; ok is false when the
// group lacks this backend's tags. It reads the provisioning state first (ARM's
// list reports only that), then the group and container instance views when the
// group carries them (a GET does, ARM's list does not):
//
//	provisioning Failed / Canceled / Deleting  -> Failed with that reason
//	provisioning Pending, Creating, ...         -> Pending (Running if the view says so)
//	provisioning Succeeded, group state Running -> Running; Succeeded -> Succeeded;
//	  Failed -> Failed (the first non-zero exit named); Stopped -> Failed
//	provisioning Succeeded without any view     -> Running (the containers were
//	  started; their states are learned from a later GET)
func groupStatus(cg *armaci.ContainerGroup) (providers.InstanceStatus, bool) {
	ref, ok := refFromTags(cg.Tags)
	if !ok {
		return providers.InstanceStatus{}, false
	}
	st := providers.InstanceStatus{Ref: ref, CreatedAt: createdFromTags(cg.Tags), Phase: providers.PhaseUnknown}
	props := cg.Properties
	if props == nil {
		st.Reason = "NoProperties"
		return st, true
	}
	if props.IPAddress != nil {
		st.IP = deref(props.IPAddress.IP)
	}
	var viewed []bool
	for _, c := range props.Containers {
		if c == nil {
			continue
		}
		cs, has := containerStatus(c)
		st.Containers = append(st.Containers, cs)
		viewed = append(viewed, has)
	}
	groupState := ""
	if props.InstanceView != nil {
		groupState = strings.ToLower(deref(props.InstanceView.State))
	}
	policy := strings.ToLower(string(deref(props.RestartPolicy)))
	st.Phase, st.Reason, st.Message = phase(strings.ToLower(deref(props.ProvisioningState)), groupState, policy, st.Containers, viewed)
	if st.Phase == providers.PhaseFailed && st.Message == "" {
		st.Message = warningEvent(props)
	}
	if deref(props.ProvisioningState) != "" && st.Phase == providers.PhasePending && st.Reason == "" {
		st.Reason = deref(props.ProvisioningState)
	}
	fillUnviewed(&st, viewed)
	for _, c := range st.Containers {
		if !c.StartedAt.IsZero() && (st.StartedAt.IsZero() || c.StartedAt.Before(st.StartedAt)) {
			st.StartedAt = c.StartedAt
		}
	}
	return st, true
}

// phase decides the instance phase from the provisioning state, the group state,
// the restart policy (lowercase) and the container statuses that carry a view.
func phase(provisioning, group, policy string, cs []providers.ContainerStatus, viewed []bool) (providers.Phase, string, string) {
	switch provisioning {
	case "failed":
		return providers.PhaseFailed, ReasonProvisioningFailed, ""
	case "canceled", "cancelled":
		return providers.PhaseFailed, ReasonProvisioningCanceled, "the container group's deployment was canceled"
	case "deleting":
		return providers.PhaseFailed, ReasonDeleting, "the container group is being deleted"
	case "succeeded":
	default:
		if group == "running" {
			return providers.PhaseRunning, "", ""
		}
		return providers.PhasePending, "", ""
	}
	switch group {
	case "running":
		return providers.PhaseRunning, "", ""
	case "succeeded":
		return providers.PhaseSucceeded, ReasonCompleted, ""
	case "failed":
		return providers.PhaseFailed, ReasonError, firstFailure(cs)
	case "stopped":
		return providers.PhaseFailed, ReasonStopped, "the container group was stopped"
	}
	// No usable group state: derive it from the containers that have a view and
	// the restart policy (containers that will be restarted keep it Running).
	terminated, failed := 0, 0
	for i, c := range cs {
		if viewed[i] && c.State == providers.ContainerTerminated {
			terminated++
			if c.ExitCode != 0 {
				failed++
			}
		}
	}
	switch {
	case len(cs) == 0 || terminated < len(cs) || policy == "always":
		return providers.PhaseRunning, "", ""
	case failed == 0:
		return providers.PhaseSucceeded, ReasonCompleted, ""
	case policy == "onfailure":
		return providers.PhaseRunning, "", ""
	}
	return providers.PhaseFailed, ReasonError, firstFailure(cs)
}

func firstFailure(cs []providers.ContainerStatus) string {
	for _, c := range cs {
		if c.State == providers.ContainerTerminated && c.ExitCode != 0 {
			return fmt.Sprintf("container %s exited with code %d", c.Name, c.ExitCode)
		}
	}
	return ""
}

// containerStatus maps one container's instance view; has is false without one.
func containerStatus(c *armaci.Container) (cs providers.ContainerStatus, has bool) {
	cs.Name = deref(c.Name)
	if c.Properties == nil || c.Properties.InstanceView == nil || c.Properties.InstanceView.CurrentState == nil {
		return cs, false
	}
	iv := c.Properties.InstanceView
	cs.RestartCount = deref(iv.RestartCount)
	cur := iv.CurrentState
	cs.StartedAt = deref(cur.StartTime)
	detail := deref(cur.DetailStatus)
	switch strings.ToLower(deref(cur.State)) {
	case "running":
		cs.State, cs.Ready = providers.ContainerRunning, true
	case "terminated":
		cs.State = providers.ContainerTerminated
		cs.ExitCode = deref(cur.ExitCode)
		cs.FinishedAt = deref(cur.FinishTime)
		cs.Reason = detail
		if cs.Reason == "" {
			cs.Reason = ReasonCompleted
			if cs.ExitCode != 0 {
				cs.Reason = ReasonError
			}
		}
	default:
		cs.State = providers.ContainerWaiting
		cs.StartedAt = time.Time{}
		cs.Reason = detail
		if cs.Reason == "" {
			cs.Reason = "Waiting"
		}
		cs.Message = latestWarning(iv.Events)
	}
	return cs, true
}

// fillUnviewed gives containers without an instance view the state their group's
// phase implies.
func fillUnviewed(st *providers.InstanceStatus, viewed []bool) {
	for i := range st.Containers {
		if viewed[i] {
			continue
		}
		c := &st.Containers[i]
		switch st.Phase {
		case providers.PhaseRunning:
			c.State, c.Ready = providers.ContainerRunning, true
		case providers.PhaseSucceeded:
			c.State, c.Reason = providers.ContainerTerminated, ReasonCompleted
		default:
			c.State, c.Reason, c.Message = providers.ContainerWaiting, st.Reason, st.Message
		}
	}
}

// warningEvent returns the most recent Warning event of the group or its
// containers as "Name: message", or "".
func warningEvent(props *armaci.ContainerGroupPropertiesProperties) string {
	var events []*armaci.Event
	if props.InstanceView != nil {
		events = append(events, props.InstanceView.Events...)
	}
	for _, c := range props.Containers {
		if c != nil && c.Properties != nil && c.Properties.InstanceView != nil {
			events = append(events, c.Properties.InstanceView.Events...)
		}
	}
	return latestWarning(events)
}

func latestWarning(events []*armaci.Event) string {
	var best *armaci.Event
	for _, e := range events {
		if e == nil || !strings.EqualFold(deref(e.Type), "Warning") {
			continue
		}
		if best == nil || !deref(e.LastTimestamp).Before(deref(best.LastTimestamp)) {
			best = e
		}
	}
	if best == nil {
		return ""
	}
	if name := deref(best.Name); name != "" {
		return name + ": " + deref(best.Message)
	}
	return deref(best.Message)
}
