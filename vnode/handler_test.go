package vnode

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/fake"
)

// rig is a handler over the fake backend with a pod lister the test fills.
type rig struct {
	t       *testing.T
	h       *Handler
	b       *fake.Backend
	clk     *clocktesting.FakeClock
	indexer cache.Indexer
	events  *record.FakeRecorder

	mu       sync.Mutex
	notified []*corev1.Pod
}

func newRig(t *testing.T) *rig {
	clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
	r := &rig{t: t, clk: clk, events: record.NewFakeRecorder(100),
		b:       fake.New(fake.Options{Clock: clk, Default: fake.Behavior{StartAfter: time.Second}}),
		indexer: cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})}
	r.h = r.newHandler()
	return r
}

func (r *rig) newHandler() *Handler {
	h, err := NewHandler(HandlerConfig{Backend: r.b, Provider: "fake", NodeIP: "127.0.0.1", Objects: testObjects(),
		Pods: corev1listers.NewPodLister(r.indexer), PodsSynced: func() bool { return true },
		Recorder: r.events, Clock: r.clk, LostAfter: 10 * time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	h.NotifyPods(context.Background(), func(p *corev1.Pod) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.notified = append(r.notified, p)
	})
	return h
}

func (r *rig) drain() []*corev1.Pod {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.notified
	r.notified = nil
	return out
}

// waitNotified waits for asynchronous notifications (fail reports in a goroutine).
func (r *rig) waitNotified(n int) []*corev1.Pod {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		got := len(r.notified)
		r.mu.Unlock()
		if got >= n {
			return r.drain()
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.t.Fatalf("fewer than %d notifications", n)
	return nil
}

func pod(name string) *corev1.Pod {
	p := basePod()
	p.Name, p.UID = name, types.UID("uid-"+name)
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}}}
	return p
}

func (r *rig) addToLister(p *corev1.Pod) {
	if err := r.indexer.Add(p); err != nil {
		r.t.Fatal(err)
	}
}

func TestCreateSyncRunning(t *testing.T) {
	r := newRig(t)
	p := pod("a")
	r.addToLister(p)
	if err := r.h.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	spec, ok := r.b.Spec("uid-a")
	if !ok || spec.Containers[0].Env[0] != (providers.EnvVar{Name: "PASS", Value: "hunter2", Secret: true}) {
		t.Fatalf("backend spec %+v", spec)
	}
	r.h.Sync(context.Background())
	got := r.drain()
	if len(got) != 1 || got[0].Status.Phase != corev1.PodPending {
		t.Fatalf("first sync notified %d pods: %+v", len(got), got)
	}
	r.h.Sync(context.Background())
	if got := r.drain(); len(got) != 0 {
		t.Fatalf("a sync without change notified %d pods", len(got))
	}
	r.clk.Step(2 * time.Second)
	r.h.Sync(context.Background())
	got = r.drain()
	if len(got) != 1 || got[0].Status.Phase != corev1.PodRunning || condStatus(got[0].Status, corev1.PodReady) != corev1.ConditionTrue {
		t.Fatalf("after start: %+v", got)
	}
	// GetPod hands out copies.
	gp, err := r.h.GetPod(context.Background(), "ns", "a")
	if err != nil || gp.Status.Phase != corev1.PodRunning {
		t.Fatalf("GetPod = %+v, %v", gp, err)
	}
	gp.Status.Phase = corev1.PodFailed
	if again, _ := r.h.GetPod(context.Background(), "ns", "a"); again.Status.Phase != corev1.PodRunning {
		t.Fatal("GetPod returned the handler's own object")
	}
	if calls, _ := r.b.CountCalls(fake.OpList); calls != 3 {
		t.Fatalf("%d List calls for 3 syncs", calls)
	}
}

func TestRestartedHandlerReadoptsWithoutDuplicates(t *testing.T) {
	r := newRig(t)
	p := pod("a")
	r.addToLister(p)
	_ = r.h.CreatePod(context.Background(), p)
	r.clk.Step(2 * time.Second)
	r.h.Sync(context.Background())
	running := r.drain()[0]
	// A new handler (surge-vnode restarted) gets the pod, with its Running status, again.
	r.h = r.newHandler()
	r.h.Sync(context.Background()) // before CreatePod: the instance's pod is in the lister, so no sweep
	time.Sleep(50 * time.Millisecond)
	if r.b.Len() != 1 {
		t.Fatalf("the tracker swept an instance whose pod exists")
	}
	if err := r.h.CreatePod(context.Background(), running); err != nil {
		t.Fatal(err)
	}
	r.h.Sync(context.Background())
	if got := r.drain(); len(got) != 0 {
		t.Fatalf("re-adoption changed the status: %+v", got[0].Status)
	}
	if r.b.Len() != 1 {
		t.Fatalf("%d instances after re-adoption, want 1", r.b.Len())
	}
}

func TestUnsupportedPodFailsWithoutBackendCall(t *testing.T) {
	r := newRig(t)
	p := pod("u")
	p.Spec.HostNetwork = true
	if err := r.h.CreatePod(context.Background(), p); err != nil {
		t.Fatalf("CreatePod of an unsupported pod = %v, want nil (reported, not retried)", err)
	}
	got := r.waitNotified(1)
	if got[0].Status.Phase != corev1.PodFailed || got[0].Status.Reason != ReasonUnsupported || !strings.Contains(got[0].Status.Message, "spec.hostNetwork") {
		t.Fatalf("status %+v", got[0].Status)
	}
	if calls, _ := r.b.CountCalls(fake.OpCreate); calls != 0 {
		t.Fatal("the backend was called for an unsupported pod")
	}
	if ev := <-r.events.Events; !strings.Contains(ev, ReasonUnsupported) {
		t.Fatalf("event %q", ev)
	}
}

func TestBackendErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantErr   bool
		wantPhase corev1.PodPhase
	}{
		{"transient is retried", providers.NewError(providers.KindTransient, errors.New("throttled")), true, ""},
		{"quota is retried", providers.NewError(providers.KindQuotaExceeded, errors.New("full")), true, ""},
		{"unsupported fails the pod", providers.NewError(providers.KindUnsupported, errors.New("no GPUs here")), false, corev1.PodFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.b.FailNext(fake.OpCreate, tc.err)
			err := r.h.CreatePod(context.Background(), pod("e"))
			if (err != nil) != tc.wantErr {
				t.Fatalf("CreatePod = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				if !errors.Is(err, tc.err) {
					t.Fatalf("error %v does not wrap the backend's", err)
				}
				if _, gerr := r.h.GetPod(context.Background(), "ns", "e"); gerr == nil {
					t.Fatal("a failed create left an entry")
				}
				return
			}
			got := r.waitNotified(1)
			if got[0].Status.Phase != tc.wantPhase || !strings.Contains(got[0].Status.Message, "no GPUs") {
				t.Fatalf("status %+v", got[0].Status)
			}
		})
	}
}

func TestMissingSecretIsRetried(t *testing.T) {
	r := newRig(t)
	p := pod("s")
	p.Spec.Containers[0].Env[0].ValueFrom.SecretKeyRef.Name = "not-yet"
	err := r.h.CreatePod(context.Background(), p)
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("CreatePod = %v, want a ConfigError", err)
	}
	if calls, _ := r.b.CountCalls(fake.OpCreate); calls != 0 {
		t.Fatal("backend called without an environment")
	}
}

func TestDeletePod(t *testing.T) {
	r := newRig(t)
	var removed []types.UID
	r.h.cfg.RemovePod = func(_ context.Context, ns, name string, uid types.UID) error {
		removed = append(removed, uid)
		return nil
	}
	p := pod("d")
	now := metav1.Now()
	p.DeletionTimestamp = &now
	r.addToLister(p)
	_ = r.h.CreatePod(context.Background(), p)
	r.clk.Step(2 * time.Second)
	r.h.Sync(context.Background())
	r.drain()
	if err := r.h.DeletePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got := r.drain()
	if r.b.Len() != 0 || len(got) != 1 || vkRunning(&got[0].Status) {
		t.Fatalf("after delete: %d instances, notified %+v", r.b.Len(), got)
	}
	if _, err := r.h.GetPod(context.Background(), "ns", "d"); err == nil {
		t.Fatal("deleted pod still known")
	}
	if len(removed) != 1 || removed[0] != p.UID {
		t.Fatalf("RemovePod calls %v, want one for %s", removed, p.UID)
	}
	// Deleting again (virtual-kubelet may) is fine.
	if err := r.h.DeletePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r.b.FailNext(fake.OpDelete, providers.NewError(providers.KindTransient, errors.New("try later")))
	if err := r.h.DeletePod(context.Background(), p); err == nil {
		t.Fatal("a transient delete error was swallowed")
	}
}

func TestSweepAndLost(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	// An instance whose pod is gone, and one whose pod was recreated with a new UID.
	for _, uid := range []string{"gone", "old"} {
		_ = r.b.Create(ctx, &providers.InstanceSpec{Ref: providers.InstanceRef{Namespace: "ns", Name: "x-" + uid, UID: uid},
			Containers: []providers.ContainerSpec{{Name: "c"}}})
	}
	recreated := pod("x-old")
	r.addToLister(recreated) // same name as "old", another UID
	// A tracked pod whose instance disappears behind our back.
	lost := pod("lost")
	r.addToLister(lost)
	_ = r.h.CreatePod(ctx, lost)
	if err := r.b.Delete(ctx, refOf(lost)); err != nil {
		t.Fatal(err)
	}
	r.h.Sync(ctx)
	deadline := time.Now().Add(5 * time.Second)
	for r.b.Len() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d instances left after the sweep", r.b.Len())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.drain(); len(got) != 0 {
		t.Fatalf("a missing instance failed its pod before LostAfter: %+v", got)
	}
	r.clk.Step(11 * time.Second)
	r.h.Sync(ctx)
	got := r.drain()
	if len(got) != 1 || got[0].Status.Phase != corev1.PodFailed || got[0].Status.Reason != ReasonInstanceLost {
		t.Fatalf("lost instance: %+v", got)
	}
}

func TestPhaseCounts(t *testing.T) {
	r := newRig(t)
	for _, n := range []string{"a", "b"} {
		_ = r.h.CreatePod(context.Background(), pod(n))
	}
	bad := pod("c")
	bad.Spec.HostPID = true
	_ = r.h.CreatePod(context.Background(), bad)
	r.waitNotified(1)
	r.clk.Step(2 * time.Second)
	r.h.Sync(context.Background())
	c := r.h.phaseCounts()
	if c["Running"] != 2 || c["Failed"] != 1 || c["Pending"] != 0 {
		t.Fatalf("phase counts %v", c)
	}
}
