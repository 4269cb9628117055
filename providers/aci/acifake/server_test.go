package acifake

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
	clocktesting "k8s.io/utils/clock/testing"
)

var ctx = context.Background()

func client(t *testing.T, s *Server) *armaci.ContainerGroupsClient {
	t.Helper()
	c, err := armaci.NewContainerGroupsClient("sub", Credential(), s.ClientOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newGroup(image string, policy armaci.ContainerGroupRestartPolicy) armaci.ContainerGroup {
	return armaci.ContainerGroup{
		Location: ptr("westeurope"),
		Properties: &armaci.ContainerGroupPropertiesProperties{
			OSType:        ptr(armaci.OperatingSystemTypesLinux),
			RestartPolicy: ptr(policy),
			Containers: []*armaci.Container{{Name: ptr("main"), Properties: &armaci.ContainerProperties{
				Image:                ptr(image),
				Resources:            &armaci.ResourceRequirements{Requests: &armaci.ResourceRequests{CPU: ptr(1.0), MemoryInGB: ptr(1.5)}},
				EnvironmentVariables: []*armaci.EnvironmentVariable{{Name: ptr("TOKEN"), SecureValue: ptr("secret")}},
			}}},
		},
	}
}

func TestTimelineAndRestarts(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Clock: clk, ProvisionDelay: time.Second, RunFor: 10 * time.Second, RestartDelay: 5 * time.Second})
	c := client(t, s)
	p, err := c.BeginCreateOrUpdate(ctx, "rg", "g1", newGroup(ImageExit(1), armaci.ContainerGroupRestartPolicyAlways), nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := p.Poll(ctx); err != nil || p.Done() {
			t.Fatalf("the create ended (%v) before the group was provisioned", err)
		}
	}
	steps := []struct {
		at                  time.Duration
		provisioning, state string
		container           string
		restarts            int32
	}{
		{0, "Creating", "Pending", "Waiting", 0},
		{time.Second, "Succeeded", "Running", "Running", 0},
		{11 * time.Second, "Succeeded", "Running", "Terminated", 0},
		{16 * time.Second, "Succeeded", "Running", "Running", 1},
		{31 * time.Second, "Succeeded", "Running", "Running", 2},
	}
	start := clk.Now()
	for _, st := range steps {
		clk.SetTime(start.Add(st.at))
		g, err := c.Get(ctx, "rg", "g1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.at == time.Second {
			res, err := p.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: time.Millisecond})
			if err != nil || *res.Properties.ProvisioningState != "Succeeded" {
				t.Fatalf("create after provisioning: %v", err)
			}
		}
		props := g.Properties
		iv := props.Containers[0].Properties.InstanceView
		if *props.ProvisioningState != st.provisioning || *props.InstanceView.State != st.state ||
			*iv.CurrentState.State != st.container || *iv.RestartCount != st.restarts {
			t.Fatalf("at %v: %s/%s/%s restarts %d, want %+v", st.at, *props.ProvisioningState, *props.InstanceView.State,
				*iv.CurrentState.State, *iv.RestartCount, st)
		}
	}
}

func TestNeverRestartFinishes(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s := New(Config{Clock: clk, ProvisionDelay: time.Second, RunFor: time.Second})
	c := client(t, s)
	for name, image := range map[string]string{"ok": ImageExit(0), "bad": ImageExit(2)} {
		if _, err := c.BeginCreateOrUpdate(ctx, "rg", name, newGroup(image, armaci.ContainerGroupRestartPolicyNever), nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.SetTime(clk.Now().Add(time.Hour))
	for name, want := range map[string]string{"ok": "Succeeded", "bad": "Failed"} {
		g, err := c.Get(ctx, "rg", name, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := *g.Properties.InstanceView.State; got != want {
			t.Fatalf("%s: group state %s, want %s", name, got, want)
		}
	}
}

func TestViewsAreLikeARM(t *testing.T) {
	s := New(Config{CreateSteps: -1})
	c := client(t, s)
	if _, err := c.BeginCreateOrUpdate(ctx, "rg", "g1", newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways), nil); err != nil {
		t.Fatal(err)
	}
	pager := c.NewListByResourceGroupPager("rg", nil)
	page, err := pager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 {
		t.Fatalf("list: %v %v", page.Value, err)
	}
	listed := page.Value[0].Properties
	if listed.InstanceView != nil || listed.Containers[0].Properties.InstanceView != nil || listed.ProvisioningState == nil {
		t.Fatal("the list carries instance views (ARM's does not) or lacks the provisioning state")
	}
	got, err := c.Get(ctx, "rg", "g1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Properties.InstanceView == nil {
		t.Fatal("GET lacks the instance view")
	}
	for _, v := range []*armaci.ContainerGroupPropertiesProperties{listed, got.Properties} {
		if v.Containers[0].Properties.EnvironmentVariables[0].SecureValue != nil {
			t.Fatal("a secure value was returned")
		}
	}
	var raw *http.Response
	if _, err := c.BeginDelete(runtime.WithCaptureResponse(ctx, &raw), "rg", "missing", nil); err != nil || raw.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of a missing group: %v, status %d; want 204", err, raw.StatusCode)
	}
}

func TestValidationAndFaults(t *testing.T) {
	s := New(Config{CreateSteps: -1})
	c := client(t, s)
	var re *azcore.ResponseError
	_, err := c.BeginCreateOrUpdate(ctx, "rg", "Bad--Name", newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways), nil)
	if !errors.As(err, &re) || re.StatusCode != http.StatusBadRequest || re.ErrorCode != "InvalidContainerGroupName" {
		t.Fatalf("invalid name: %v", err)
	}
	noRequests := newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways)
	noRequests.Properties.Containers[0].Properties.Resources = nil
	if _, err := c.BeginCreateOrUpdate(ctx, "rg", "g", noRequests, nil); !errors.As(err, &re) || re.ErrorCode != "InvalidContainerResources" {
		t.Fatalf("no resource requests: %v", err)
	}
	s.InjectFault(Fault{API: "ContainerGroupsClient.Get", Status: http.StatusTooManyRequests, Count: 2})
	_, err = c.Get(ctx, "rg", "g", nil)
	if !errors.As(err, &re) || re.ErrorCode != "ResourceNotFound" {
		t.Fatalf("Get after two retried 429s = %v, want the server's 404", err)
	}
	if n := s.Calls("ContainerGroupsClient.Get", http.MethodGet); n != 3 {
		t.Fatalf("%d GETs, want 3", n)
	}
}

// TestOperationsAndPagersDoNotMix: the SDK's fake keeps one operation and one
// pager per path; the simulation must not serve a new PUT from an unfinished
// operation, nor mix the pages of two lists.
func TestOperationsAndPagersDoNotMix(t *testing.T) {
	s := New(Config{PageSize: 1, ProvisionDelay: time.Hour})
	c := client(t, s)
	if _, err := c.BeginCreateOrUpdate(ctx, "rg", "g1", newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways), nil); err != nil {
		t.Fatal(err)
	}
	if !s.DeleteGroup("rg", "g1") {
		t.Fatal("no group")
	}
	// The first create is unfinished (provisioning takes an hour); a new PUT is
	// a new operation and re-creates the group.
	if _, err := c.BeginCreateOrUpdate(ctx, "rg", "g1", newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways), nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Group("rg", "g1"); !ok {
		t.Fatal("the second PUT was served by the first operation and created nothing")
	}
	if _, err := c.BeginCreateOrUpdate(ctx, "rg", "g2", newGroup(ImageRunForever, armaci.ContainerGroupRestartPolicyAlways), nil); err != nil {
		t.Fatal(err)
	}
	a, b := c.NewListByResourceGroupPager("rg", nil), c.NewListByResourceGroupPager("rg", nil)
	var seenA, seenB []string
	for a.More() || b.More() {
		for _, p := range []struct {
			pager *runtime.Pager[armaci.ContainerGroupsClientListByResourceGroupResponse]
			seen  *[]string
		}{{a, &seenA}, {b, &seenB}} {
			if !p.pager.More() {
				continue
			}
			page, err := p.pager.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range page.Value {
				*p.seen = append(*p.seen, *g.Name)
			}
		}
	}
	if len(seenA) != 2 || len(seenB) != 2 || seenA[0] != "g1" || seenB[1] != "g2" {
		t.Fatalf("interleaved lists saw %v and %v, want [g1 g2] each", seenA, seenB)
	}
}
