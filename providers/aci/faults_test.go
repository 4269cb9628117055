package aci_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/providers/aci/acifake"
)

const (
	apiCreate = "ContainerGroupsClient.BeginCreateOrUpdate"
	apiDelete = "ContainerGroupsClient.BeginDelete"
	apiGet    = "ContainerGroupsClient.Get"
	apiList   = "ContainerGroupsClient.NewListByResourceGroupPager"
)

var ctx = context.Background()

func spec(name, image string) *providers.InstanceSpec {
	return &providers.InstanceSpec{
		Ref:           providers.InstanceRef{Namespace: "ns", Name: name, UID: "uid-" + name},
		Containers:    []providers.ContainerSpec{{Name: "main", Image: image}},
		RestartPolicy: providers.RestartAlways,
	}
}

// waitStatus polls List until cond holds for ref, or fails after 10 s.
func waitStatus(t *testing.T, b providers.Backend, ref providers.InstanceRef, what string, cond func(providers.InstanceStatus, bool) bool) providers.InstanceStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		list, err := b.List(ctx)
		var st providers.InstanceStatus
		found := false
		for _, s := range list {
			if s.Ref.UID == ref.UID {
				st, found = s, true
			}
		}
		if err == nil && cond(st, found) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached; last %+v (found %v, err %v)", what, st, found, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func running(st providers.InstanceStatus, ok bool) bool {
	return ok && st.Phase == providers.PhaseRunning
}

func TestThrottledCreateHonoursRetryAfter(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv)
	srv.InjectFault(acifake.Fault{API: apiCreate, Method: http.MethodPut, Status: http.StatusTooManyRequests, RetryAfter: "1"})
	start := time.Now()
	if err := b.Create(ctx, spec("throttled", acifake.ImageRunForever)); err != nil {
		t.Fatalf("Create after one 429: %v", err)
	}
	if waited := time.Since(start); waited < 900*time.Millisecond {
		t.Fatalf("the SDK retried after %v, ignoring Retry-After: 1", waited)
	}
	if n := srv.Calls(apiCreate, http.MethodPut); n != 2 {
		t.Fatalf("%d PUTs, want 2 (the 429 and its retry)", n)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv)
	srv.InjectFault(acifake.Fault{API: apiGet, Status: http.StatusServiceUnavailable, Count: 2})
	srv.InjectFault(acifake.Fault{API: apiList, Status: http.StatusInternalServerError})
	if err := b.Create(ctx, spec("five-hundred", acifake.ImageRunForever)); err != nil {
		t.Fatalf("Create after two 503s: %v", err)
	}
	if n := srv.Calls(apiGet, ""); n != 3 {
		t.Fatalf("%d GETs, want 3", n)
	}
	if _, err := b.List(ctx); err != nil {
		t.Fatalf("List after one 500: %v", err)
	}
}

// TestBackoffAfterRetriesGiveUp: a Retry-After longer than the SDK will wait ends
// its retries; our back-off then honours it, failing calls fast as Transient
// without calling ARM, until it expires.
func TestBackoffAfterRetriesGiveUp(t *testing.T) {
	srv := acifake.New(acifake.Config{CreateSteps: -1})
	clk := clocktesting.NewFakeClock(time.Now())
	b := newBackend(t, srv, func(o *aci.Options) { o.Clock = clk })
	srv.InjectFault(acifake.Fault{API: apiList, Status: http.StatusTooManyRequests, RetryAfter: "30"})
	_, err := b.List(ctx)
	if !providers.IsTransient(err) {
		t.Fatalf("List = %v, want Transient", err)
	}
	if ra, ok := aci.RetryAfter(err); !ok || ra != 30*time.Second {
		t.Fatalf("RetryAfter = %v %v, want 30s", ra, ok)
	}
	if !strings.Contains(err.Error(), "HTTP 429") {
		t.Fatalf("error %q does not say 429", err)
	}
	calls := srv.Calls(apiList, "") + srv.Calls(apiGet, "") + srv.Calls(apiCreate, "") + srv.Calls(apiDelete, "")
	if calls != 1 {
		t.Fatalf("%d calls, want 1: the SDK must not wait 30 s", calls)
	}
	s := spec("backoff", acifake.ImageRunForever)
	for name, call := range map[string]func() error{
		"List":   func() error { _, err := b.List(ctx); return err },
		"Create": func() error { return b.Create(ctx, s) },
		"Delete": func() error { return b.Delete(ctx, s.Ref) },
	} {
		err := call()
		var be *aci.BackoffError
		if !providers.IsTransient(err) || !errors.As(err, &be) {
			t.Fatalf("%s while backing off = %v, want a Transient BackoffError", name, err)
		}
	}
	if got := srv.Calls(apiList, "") + srv.Calls(apiGet, "") + srv.Calls(apiCreate, "") + srv.Calls(apiDelete, ""); got != calls {
		t.Fatalf("calls went to ARM while backing off: %d, want %d", got, calls)
	}
	clk.Step(30 * time.Second)
	if err := b.Create(ctx, s); err != nil {
		t.Fatalf("Create after the back-off: %v", err)
	}
	if _, err := b.List(ctx); err != nil {
		t.Fatalf("List after the back-off: %v", err)
	}
}

func TestPersistentServerErrorsAreTransient(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv, func(o *aci.Options) { o.MaxRetries = 2 })
	srv.InjectFault(acifake.Fault{API: apiGet, Status: http.StatusBadGateway, Count: 3})
	err := b.Create(ctx, spec("bad-gateway", acifake.ImageRunForever))
	if !providers.IsTransient(err) {
		t.Fatalf("Create = %v, want Transient", err)
	}
	if n := srv.Calls(apiGet, ""); n != 3 {
		t.Fatalf("%d GETs, want 3 (MaxRetries 2)", n)
	}
	if n := srv.Calls(apiCreate, ""); n != 0 {
		t.Fatalf("Create sent a PUT without knowing whether the group exists")
	}
}

func TestProvisioningFailsLater(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	// Without detail GETs the only explanation is the long-running operation's.
	b := newBackend(t, srv, func(o *aci.Options) { o.DetailGetsPerList = 0 })
	s := spec("unpullable", acifake.ImageUnpullable)
	if err := b.Create(ctx, s); err != nil {
		t.Fatalf("Create: %v (the failure comes later, in provisioning)", err)
	}
	st := waitStatus(t, b, s.Ref, "Failed with a message", func(st providers.InstanceStatus, ok bool) bool {
		return ok && st.Phase == providers.PhaseFailed && st.Message != ""
	})
	if st.Reason != aci.ReasonProvisioningFailed || !strings.Contains(st.Message, "InaccessibleImage") {
		t.Fatalf("status %+v, want ProvisioningFailed naming InaccessibleImage (from the long-running operation)", st)
	}
	// A restarted vnode has no memory of the operation: the group's events say why.
	again := newBackend(t, srv)
	st = waitStatus(t, again, s.Ref, "Failed after restart", func(st providers.InstanceStatus, ok bool) bool {
		return ok && st.Phase == providers.PhaseFailed && st.Message != ""
	})
	if st.Reason != aci.ReasonProvisioningFailed || !strings.Contains(st.Message, "Failed to pull image") {
		t.Fatalf("after restart: %+v, want the pull failure event", st)
	}
	if err := b.Delete(ctx, s.Ref); err != nil {
		t.Fatalf("Delete of a failed group: %v", err)
	}
}

func TestQuotaExceeded(t *testing.T) {
	srv := acifake.New(acifake.Config{MaxGroups: 1})
	b := newBackend(t, srv)
	if err := b.Create(ctx, spec("first", acifake.ImageRunForever)); err != nil {
		t.Fatalf("first Create: %v", err)
	}
	err := b.Create(ctx, spec("second", acifake.ImageRunForever))
	if !providers.IsQuotaExceeded(err) || !strings.Contains(err.Error(), "ContainerGroupQuotaReached") {
		t.Fatalf("Create beyond quota = %v, want QuotaExceeded naming the ARM code", err)
	}
	if got := srv.GroupNames(testGroup); len(got) != 1 {
		t.Fatalf("groups %v, want only the first", got)
	}
}

func TestGroupDeletedBehindOurBack(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv)
	s := spec("vanishing", acifake.ImageRunForever)
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, s.Ref, "Running", running)
	if !srv.DeleteGroup(testGroup, aci.GroupName(s.Ref)) {
		t.Fatal("the group was not there to delete")
	}
	waitStatus(t, b, s.Ref, "gone from List", func(_ providers.InstanceStatus, ok bool) bool { return !ok })
	if err := b.Delete(ctx, s.Ref); !providers.IsNotFound(err) {
		t.Fatalf("Delete of a vanished group = %v, want NotFound", err)
	}
	if err := b.Create(ctx, s); err != nil {
		t.Fatalf("re-Create: %v", err)
	}
	if n := srv.Calls(apiCreate, http.MethodPut); n != 2 {
		t.Fatalf("%d PUTs, want 2: the vanished group must be re-created", n)
	}
	waitStatus(t, b, s.Ref, "Running again", running)
}

func TestConcurrentListsShareOneCall(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv, func(o *aci.Options) { o.DetailGetsPerList = 0 })
	if err := b.Create(ctx, spec("shared", acifake.ImageRunForever)); err != nil {
		t.Fatal(err)
	}
	srv.ResetCalls()
	// The first List is held up for a second by a 503 with Retry-After: 1.
	srv.InjectFault(acifake.Fault{API: apiList, Status: http.StatusServiceUnavailable, RetryAfter: "1"})
	var wg sync.WaitGroup
	results := make([][]providers.InstanceStatus, 6)
	errs := make([]error, 6)
	wg.Go(func() { results[0], errs[0] = b.List(ctx) })
	time.Sleep(200 * time.Millisecond)
	for i := 1; i < 6; i++ {
		wg.Go(func() { results[i], errs[i] = b.List(ctx) })
	}
	wg.Wait()
	for i := range results {
		if errs[i] != nil || len(results[i]) != 1 {
			t.Fatalf("List #%d = %d instances, %v", i, len(results[i]), errs[i])
		}
	}
	if n := srv.Calls(apiList, ""); n != 2 {
		t.Fatalf("%d list requests for 6 concurrent Lists, want 2 (one 503 and its retry)", n)
	}
	results[1][0].Containers[0].Name = "mutated"
	if results[2][0].Containers[0].Name == "mutated" {
		t.Fatal("concurrent callers share status slices")
	}
}

// TestCreatePollErrors: 5xx while polling a create's long-running operation are
// retried; if they persist, polling stops without failing the pod, and List
// still shows how the create ends.
func TestCreatePollErrors(t *testing.T) {
	srv := acifake.New(acifake.Config{CreateSteps: 3})
	b := newBackend(t, srv, func(o *aci.Options) { o.MaxRetries, o.BackoffMax = 0, 100*time.Millisecond })
	srv.InjectFault(acifake.Fault{API: apiCreate, Method: http.MethodGet, Status: http.StatusServiceUnavailable, Count: 100})
	s := spec("poll-errors", acifake.ImageRunForever)
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls(apiCreate, http.MethodGet) < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d polls", srv.Calls(apiCreate, http.MethodGet))
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if n := srv.Calls(apiCreate, http.MethodGet); n != 10 {
		t.Fatalf("%d polls, want polling to stop after 10 errors in a row", n)
	}
	st := waitStatus(t, b, s.Ref, "Running", running)
	if st.Reason != "" {
		t.Fatalf("status %+v: giving up polling must not fail the pod", st)
	}
}

func TestListOfMissingResourceGroupIsNotNotFound(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv)
	srv.InjectFault(acifake.Fault{API: apiList, Status: http.StatusNotFound, Code: "ResourceGroupNotFound", Message: "Resource group 'surge-test' could not be found."})
	_, err := b.List(ctx)
	if err == nil || providers.IsNotFound(err) || !strings.Contains(err.Error(), "ResourceGroupNotFound") {
		t.Fatalf("List = %v, want a plain error naming ResourceGroupNotFound", err)
	}
}
