package aci_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/providers/aci/acifake"
)

// TestReadoptionAfterRestart: a new backend on the same subscription sees the
// groups of the old one with their pod references, and Create stays idempotent.
func TestReadoptionAfterRestart(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	first := newBackend(t, srv)
	s := spec("survivor", acifake.ImageRunForever)
	if err := first.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	before := waitStatus(t, first, s.Ref, "Running", running)
	_ = first.Close()

	second := newBackend(t, srv)
	if err := second.Create(ctx, s); err != nil {
		t.Fatalf("Create after restart: %v", err)
	}
	if n := srv.Calls(apiCreate, http.MethodPut); n != 1 {
		t.Fatalf("%d PUTs, want 1: Create after restart must not re-create", n)
	}
	after := waitStatus(t, second, s.Ref, "re-adopted Running", running)
	if after.Ref != s.Ref || !after.CreatedAt.Equal(before.CreatedAt) || !after.StartedAt.Equal(before.StartedAt) {
		t.Fatalf("re-adopted %+v, want the same instance as %+v", after, before)
	}
}

// TestListOnlyOwnGroups: groups of another owner (another surge-vnode sharing the
// resource group) are neither listed nor swept.
func TestListOnlyOwnGroups(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	mine := newBackend(t, srv)
	theirs := newBackend(t, srv, func(o *aci.Options) { o.Owner = "other-vnode" })
	if err := theirs.Create(ctx, spec("theirs", acifake.ImageRunForever)); err != nil {
		t.Fatal(err)
	}
	if err := mine.Create(ctx, spec("mine", acifake.ImageRunForever)); err != nil {
		t.Fatal(err)
	}
	list, err := mine.List(ctx)
	if err != nil || len(list) != 1 || list[0].Ref.Name != "mine" {
		t.Fatalf("List = %+v, %v; want only mine", list, err)
	}
}

// TestListIsOnePagedCall: a List is one paged list call (three pages for 45
// groups of 20 per page), plus at most DetailGetsPerList GETs.
func TestListIsOnePagedCall(t *testing.T) {
	for _, budget := range []int{0, 5} {
		t.Run(fmt.Sprintf("budget %d", budget), func(t *testing.T) {
			srv := acifake.New(acifake.Config{CreateSteps: -1, ProvisionDelay: time.Millisecond})
			b := newBackend(t, srv, func(o *aci.Options) { o.DetailGetsPerList = budget })
			for i := range 45 {
				if err := b.Create(ctx, spec(fmt.Sprintf("p%02d", i), acifake.ImageRunForever)); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(10 * time.Millisecond)
			srv.ResetCalls()
			list, err := b.List(ctx)
			if err != nil || len(list) != 45 {
				t.Fatalf("List = %d instances, %v; want 45", len(list), err)
			}
			if n := srv.Calls(apiList, ""); n != 3 {
				t.Fatalf("%d list requests, want 3 pages of one paged call", n)
			}
			if n := srv.Calls(apiGet, ""); n > budget {
				t.Fatalf("%d GETs, want at most %d", n, budget)
			}
			for _, st := range list {
				if st.Phase != providers.PhaseRunning {
					t.Fatalf("%s is %s, want Running", st.Ref.Name, st.Phase)
				}
			}
		})
	}
}

// TestLongRunningDelete: a delete that ARM completes asynchronously returns at
// once, hides the group from List and is polled to the end in the background.
func TestLongRunningDelete(t *testing.T) {
	srv := acifake.New(acifake.Config{DeleteSteps: 3})
	b := newBackend(t, srv)
	s := spec("slow-delete", acifake.ImageRunForever)
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, s.Ref, "Running", running)
	if err := b.Delete(ctx, s.Ref); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if list, _ := b.List(ctx); len(list) != 0 {
		t.Fatalf("List during the delete = %+v, want nothing", list)
	}
	deadline := time.Now().Add(5 * time.Second)
	for srv.Calls(apiDelete, http.MethodGet) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the delete was polled %d times, want 3", srv.Calls(apiDelete, http.MethodGet))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSecretsStayOutOfLogsAndErrors: Secret env values go to ACI as secure
// values and appear in no log line and no error.
func TestSecretsStayOutOfLogsAndErrors(t *testing.T) {
	const secret, password = "s3cr3t-token-value", "registry-pa55word"
	srv := acifake.New(acifake.Config{})
	var mu sync.Mutex
	var logs strings.Builder
	log := funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		logs.WriteString(prefix + " " + args + "\n")
	}, funcr.Options{Verbosity: 10})
	o := testOptions(srv)
	b, err := aci.New(ctx, o, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s := spec("secretive", "myacr.azurecr.io/worker:1")
	s.Containers[0].Env = []providers.EnvVar{{Name: "TOKEN", Value: secret, Secret: true}}
	s.RegistryCredentials = []providers.RegistryCredential{{Server: "myacr.azurecr.io", Username: "u", Password: password}}
	var errs []string
	srv.InjectFault(acifake.Fault{API: apiCreate, Status: http.StatusBadRequest, Code: "InvalidRequestContent", Message: "bad request"})
	if err := b.Create(ctx, s); !providers.IsUnsupported(err) {
		t.Fatalf("Create with a 400 = %v, want Unsupported", err)
	} else {
		errs = append(errs, err.Error())
	}
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	sent, ok := srv.Group(testGroup, aci.GroupName(s.Ref))
	if !ok {
		t.Fatal("no group")
	}
	env := sent.Properties.Containers[0].Properties.EnvironmentVariables[0]
	if env.Value != nil || env.SecureValue == nil || *env.SecureValue != secret {
		t.Fatalf("the secret was not sent as a secure value")
	}
	if *sent.Properties.ImageRegistryCredentials[0].Password != password {
		t.Fatalf("the registry password was not sent")
	}
	waitStatus(t, b, s.Ref, "Running", running)
	srv.InjectFault(acifake.Fault{API: apiDelete, Status: http.StatusInternalServerError, Count: 10})
	if err := b.Delete(ctx, s.Ref); err == nil {
		t.Fatal("Delete with 500s succeeded")
	} else {
		errs = append(errs, err.Error())
	}
	mu.Lock()
	text := logs.String() + strings.Join(errs, "\n")
	mu.Unlock()
	if !strings.Contains(text, "container group create accepted") {
		t.Fatalf("the capture saw no log line; logs:\n%s", text)
	}
	for _, v := range []string{secret, password} {
		if strings.Contains(text, v) {
			t.Fatalf("%q leaked into logs or errors:\n%s", v, text)
		}
	}
}

func TestLogsTailAndFollow(t *testing.T) {
	srv := acifake.New(acifake.Config{})
	b := newBackend(t, srv)
	s := spec("chatty", acifake.ImageRunForever)
	if err := b.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, s.Ref, "Running", running)
	group := aci.GroupName(s.Ref)
	for i := range 5 {
		if err := srv.AppendLog(testGroup, group, "main", fmt.Sprintf("line %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	rc, err := b.Logs(ctx, s.Ref, "main", providers.LogOptions{Tail: 2})
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	got, _ := io.ReadAll(rc)
	_ = rc.Close()
	if string(got) != "line 3\nline 4\n" {
		t.Fatalf("tail 2 = %q", got)
	}
	rc, err = b.Logs(ctx, s.Ref, "main", providers.LogOptions{Follow: true, Tail: 1})
	if err != nil {
		t.Fatalf("Logs(follow): %v", err)
	}
	lines := make(chan string, 10)
	go func() {
		defer close(lines)
		buf := make([]byte, 4096)
		for {
			n, err := rc.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	if first := <-lines; first != "line 4\n" {
		t.Fatalf("follow started with %q, want the last line", first)
	}
	if err := srv.AppendLog(testGroup, group, "main", "line 5"); err != nil {
		t.Fatal(err)
	}
	select {
	case next := <-lines:
		if next != "line 5\n" {
			t.Fatalf("follow streamed %q, want only the new line", next)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("follow did not stream the appended line")
	}
	_ = rc.Close()
	for range lines { // the reader ends once closed
	}
}

// TestNewWithDefaultCredential builds the backend the way surge-vnode does in
// production, with azidentity's DefaultAzureCredential (no call is made).
func TestNewWithDefaultCredential(t *testing.T) {
	o := aci.DefaultOptions()
	o.SubscriptionID, o.ResourceGroup, o.Region = testSubscription, testGroup, "westeurope"
	b, err := aci.New(ctx, o, discard)
	if err != nil {
		t.Fatalf("New with DefaultAzureCredential: %v", err)
	}
	_ = b.Close()
	o.Region = ""
	if _, err := aci.New(ctx, o, discard); err == nil || !strings.Contains(err.Error(), "--aci-region") {
		t.Fatalf("New without a region = %v, want an error naming --aci-region", err)
	}
}
