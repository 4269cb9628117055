package aci

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

var (
	t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Minute)
)

// cg builds a tagged group with the given provisioning state, group state ("" =
// no group instance view) and containers.
func cg(provisioning, state string, policy armaci.ContainerGroupRestartPolicy, containers ...*armaci.Container) *armaci.ContainerGroup {
	g := &armaci.ContainerGroup{
		Name: ptr("ns-pod-0123456789"),
		Tags: groupTags(providers.InstanceRef{Namespace: "ns", Name: "pod", UID: "uid-1"}, "vnode", t0),
		Properties: &armaci.ContainerGroupPropertiesProperties{
			Containers: containers, RestartPolicy: ptr(policy), IPAddress: &armaci.IPAddress{IP: ptr("10.1.2.3")},
		},
	}
	if provisioning != "" {
		g.Properties.ProvisioningState = ptr(provisioning)
	}
	if state != "" {
		g.Properties.InstanceView = &armaci.ContainerGroupPropertiesInstanceView{State: ptr(state)}
	}
	return g
}

// c builds a container, with an instance view if state is not "".
func c(name, state string, exit int32, restarts int32, events ...*armaci.Event) *armaci.Container {
	out := &armaci.Container{Name: ptr(name), Properties: &armaci.ContainerProperties{Image: ptr("img")}}
	if state == "" {
		return out
	}
	cur := &armaci.ContainerState{State: ptr(state), StartTime: ptr(t0)}
	if state == "Terminated" {
		cur.ExitCode, cur.FinishTime = ptr(exit), ptr(t1)
	}
	out.Properties.InstanceView = &armaci.ContainerPropertiesInstanceView{CurrentState: cur, RestartCount: ptr(restarts), Events: events}
	return out
}

func warning(name, msg string, at time.Time) *armaci.Event {
	return &armaci.Event{Type: ptr("Warning"), Name: ptr(name), Message: ptr(msg), LastTimestamp: ptr(at)}
}

func TestGroupStatus(t *testing.T) {
	always, never, onFailure := armaci.ContainerGroupRestartPolicyAlways, armaci.ContainerGroupRestartPolicyNever, armaci.ContainerGroupRestartPolicyOnFailure
	type ctrWant struct {
		state    providers.ContainerState
		reason   string
		exit     int32
		restarts int32
		ready    bool
	}
	tests := []struct {
		name        string
		group       *armaci.ContainerGroup
		phase       providers.Phase
		reason      string
		message     string // substring
		containers  []ctrWant
		wantStarted bool
	}{
		{name: "creating, as listed", group: cg("Creating", "", always, c("main", "", 0, 0)),
			phase: providers.PhasePending, reason: "Creating", containers: []ctrWant{{state: providers.ContainerWaiting, reason: "Creating"}}},
		{name: "provisioned, as listed (no views)", group: cg("Succeeded", "", always, c("main", "", 0, 0)),
			phase: providers.PhaseRunning, containers: []ctrWant{{state: providers.ContainerRunning, ready: true}}},
		{name: "running, from a GET", group: cg("Succeeded", "Running", always, c("main", "Running", 0, 2)),
			phase: providers.PhaseRunning, containers: []ctrWant{{state: providers.ContainerRunning, ready: true, restarts: 2}}, wantStarted: true},
		{name: "updating while running stays running", group: cg("Updating", "Running", always, c("main", "Running", 0, 0)),
			phase: providers.PhaseRunning, containers: []ctrWant{{state: providers.ContainerRunning, ready: true}}, wantStarted: true},
		{name: "exit 0 with Never", group: cg("Succeeded", "Succeeded", never, c("main", "Terminated", 0, 0)),
			phase: providers.PhaseSucceeded, reason: ReasonCompleted, containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonCompleted}}, wantStarted: true},
		{name: "exit 3 with Never", group: cg("Succeeded", "Failed", never, c("main", "Terminated", 3, 0)),
			phase: providers.PhaseFailed, reason: ReasonError, message: "container main exited with code 3",
			containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonError, exit: 3}}, wantStarted: true},
		{name: "stopped group", group: cg("Succeeded", "Stopped", always, c("main", "Terminated", 137, 0)),
			phase: providers.PhaseFailed, reason: ReasonStopped, containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonError, exit: 137}}, wantStarted: true},
		{name: "pull failure: provisioning failed, event as message",
			group: cg("Failed", "Failed", always, c("main", "Waiting", 0, 0,
				warning("Pulling", "old", t0), warning("Failed", "Failed to pull image \"x\"", t1))),
			phase: providers.PhaseFailed, reason: ReasonProvisioningFailed, message: "Failed: Failed to pull image",
			containers: []ctrWant{{state: providers.ContainerWaiting, reason: "Waiting"}}},
		{name: "provisioning failed, as listed", group: cg("Failed", "", always, c("main", "", 0, 0)),
			phase: providers.PhaseFailed, reason: ReasonProvisioningFailed, containers: []ctrWant{{state: providers.ContainerWaiting, reason: ReasonProvisioningFailed}}},
		{name: "canceled", group: cg("Canceled", "", always, c("main", "", 0, 0)), phase: providers.PhaseFailed, reason: ReasonProvisioningCanceled,
			containers: []ctrWant{{state: providers.ContainerWaiting, reason: ReasonProvisioningCanceled}}},
		{name: "deleting", group: cg("Deleting", "", always, c("main", "", 0, 0)), phase: providers.PhaseFailed, reason: ReasonDeleting,
			containers: []ctrWant{{state: providers.ContainerWaiting, reason: ReasonDeleting}}},
		{name: "no group state: all exited 0 with Never", group: cg("Succeeded", "", never, c("a", "Terminated", 0, 0), c("b", "Terminated", 0, 0)),
			phase: providers.PhaseSucceeded, reason: ReasonCompleted, wantStarted: true,
			containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonCompleted}, {state: providers.ContainerTerminated, reason: ReasonCompleted}}},
		{name: "no group state: exited 1 with OnFailure restarts", group: cg("Succeeded", "", onFailure, c("a", "Terminated", 1, 0)),
			phase: providers.PhaseRunning, wantStarted: true, containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonError, exit: 1}}},
		{name: "no group state: exited with Always restarts", group: cg("Succeeded", "", always, c("a", "Terminated", 0, 1)),
			phase: providers.PhaseRunning, wantStarted: true, containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonCompleted, restarts: 1}}},
		{name: "no group state: one of two exited", group: cg("Succeeded", "", never, c("a", "Terminated", 1, 0), c("b", "Running", 0, 0)),
			phase: providers.PhaseRunning, wantStarted: true,
			containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonError, exit: 1}, {state: providers.ContainerRunning, ready: true}}},
		{name: "no group state: all exited, one failed, Never", group: cg("Succeeded", "", never, c("a", "Terminated", 0, 0), c("b", "Terminated", 2, 0)),
			phase: providers.PhaseFailed, reason: ReasonError, message: "container b exited with code 2", wantStarted: true,
			containers: []ctrWant{{state: providers.ContainerTerminated, reason: ReasonCompleted}, {state: providers.ContainerTerminated, reason: ReasonError, exit: 2}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, ok := groupStatus(tc.group)
			if !ok {
				t.Fatal("groupStatus rejected a tagged group")
			}
			if st.Ref != (providers.InstanceRef{Namespace: "ns", Name: "pod", UID: "uid-1"}) || !st.CreatedAt.Equal(t0) || st.IP != "10.1.2.3" {
				t.Fatalf("ref/created/ip = %+v %v %q", st.Ref, st.CreatedAt, st.IP)
			}
			if st.Phase != tc.phase || st.Reason != tc.reason || !strings.Contains(st.Message, tc.message) {
				t.Fatalf("phase %s reason %q message %q, want %s %q containing %q", st.Phase, st.Reason, st.Message, tc.phase, tc.reason, tc.message)
			}
			if st.StartedAt.IsZero() == tc.wantStarted {
				t.Errorf("StartedAt = %v, want set: %v", st.StartedAt, tc.wantStarted)
			}
			if len(st.Containers) != len(tc.containers) {
				t.Fatalf("%d container statuses, want %d", len(st.Containers), len(tc.containers))
			}
			for i, w := range tc.containers {
				got := st.Containers[i]
				if got.State != w.state || got.Reason != w.reason || got.ExitCode != w.exit || got.RestartCount != w.restarts || got.Ready != w.ready {
					t.Errorf("container %d = %+v, want %+v", i, got, w)
				}
				if got.State == providers.ContainerTerminated && w.reason != "" && got.FinishedAt.IsZero() && tc.wantStarted {
					t.Errorf("container %d terminated without FinishedAt", i)
				}
			}
		})
	}
}

func TestGroupStatusIgnoresForeignGroups(t *testing.T) {
	g := cg("Succeeded", "Running", armaci.ContainerGroupRestartPolicyAlways)
	delete(g.Tags, TagUID)
	if _, ok := groupStatus(g); ok {
		t.Fatal("a group without our tags was reported")
	}
}

func TestMergeKeepsListedStateAndInputs(t *testing.T) {
	listed := cg("Succeeded", "", armaci.ContainerGroupRestartPolicyNever, c("main", "", 0, 0))
	detail := cg("Creating", "Pending", armaci.ContainerGroupRestartPolicyNever, c("main", "Terminated", 0, 0))
	before := mustJSON(t, listed)
	m := merge(listed, detail)
	if mustJSON(t, listed) != before {
		t.Fatal("merge modified the listed group")
	}
	if *m.Properties.ProvisioningState != "Succeeded" || m.Properties.Containers[0].Properties.InstanceView == nil {
		t.Fatalf("merged = %s", mustJSON(t, m))
	}
}

// FuzzGroupStatus feeds arbitrary ARM responses to the status mapping: it must
// never panic, and a group it accepts has its tags' reference.
func FuzzGroupStatus(f *testing.F) {
	seed := []*armaci.ContainerGroup{
		cg("Succeeded", "Running", armaci.ContainerGroupRestartPolicyAlways, c("main", "Running", 0, 0)),
		cg("Failed", "", armaci.ContainerGroupRestartPolicyNever, c("main", "Waiting", 0, 0, warning("Failed", "x", t0))),
		cg("", "", "", nil),
	}
	for _, g := range seed {
		b, _ := json.Marshal(g)
		f.Add(b)
	}
	f.Add([]byte(`{"tags":{"surge-pod-namespace":"a","surge-pod-name":"b","surge-pod-uid":"c"},"properties":{"containers":[null,{}],"instanceView":{}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var g armaci.ContainerGroup
		if json.Unmarshal(data, &g) != nil {
			return
		}
		st, ok := groupStatus(&g)
		if !ok {
			return
		}
		if want, _ := refFromTags(g.Tags); st.Ref != want {
			t.Fatalf("ref %+v, want %+v", st.Ref, want)
		}
		_ = merge(&g, &g)
	})
}
