package watch

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/surge-autoscaler/surge/bench/wire"
	"github.com/surge-autoscaler/surge/test/harness"
)

// fakeDepth returns a settable depth; it is a fake.
type fakeDepth struct{ n atomic.Int64 }

func (d *fakeDepth) Depth(context.Context) (int, error) { return int(d.n.Load()), nil }

var deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}

func deployment(name string, replicas int64) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apps/v1")
	u.SetKind("Deployment")
	u.SetNamespace("bench")
	u.SetName(name)
	_ = unstructured.SetNestedField(u.Object, replicas, "spec", "replicas")
	return u
}

func TestWatcherWithFakeClients(t *testing.T) {
	ctx := context.Background()
	kube := kubefake.NewClientset()
	dyn := dynfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{deployments: "DeploymentList"},
		deployment("worker", 0), deployment("other", 7))
	depth := &fakeDepth{}
	records := make(chan wire.Record, 4)
	w, err := Start(ctx, kube, dyn, Options{
		Run: "run", Namespace: "bench", Target: Target{Resource: deployments, Name: "worker"},
		PodSelector: "app=worker", Depth: depth, DepthInterval: 5 * time.Millisecond, SampleInterval: 5 * time.Millisecond,
		Records: func(ctx context.Context, add func(wire.Record)) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case r := <-records:
					add(r)
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := w.Recorder()
	harness.EventuallyTrue(t, "desired 0", func() bool { return rec.Progress(time.Now()).Desired == 0 })

	depth.n.Store(300)
	harness.EventuallyTrue(t, "depth 300", func() bool { return rec.Progress(time.Now()).Depth == 300 })

	if _, err := dyn.Resource(deployments).Namespace("bench").Update(ctx, deployment("worker", 30), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.EventuallyTrue(t, "desired 30", func() bool { return rec.Progress(time.Now()).Desired == 30 })

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "worker-1", Namespace: "bench", UID: "u1", Labels: map[string]string{"app": "worker"}}}
	if _, err := kube.CoreV1().Pods("bench").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stranger := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "bench", UID: "u9", Labels: map[string]string{"app": "x"}}}
	if _, err := kube.CoreV1().Pods("bench").Create(ctx, stranger, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod.Spec.NodeName = "vn"
	pod.Status.Phase = corev1.PodRunning
	if _, err := kube.CoreV1().Pods("bench").Update(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.EventuallyTrue(t, "pod running", func() bool { return rec.Progress(time.Now()).Running == 1 })

	records <- wire.Record{ID: "run-000000", Run: "run", Pod: "worker-1", Start: 1, End: 2, Outcome: wire.OutcomeDone}
	records <- wire.Record{ID: "old-000000", Run: "old", Outcome: wire.OutcomeDone}
	harness.EventuallyTrue(t, "record", func() bool { return rec.Done([]string{"run-000000"}) })

	if err := kube.CoreV1().Pods("bench").Delete(ctx, "worker-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	harness.EventuallyTrue(t, "pod gone", func() bool { return rec.Progress(time.Now()).Pods == 0 })

	tl := w.Stop()
	if len(tl.Pods) != 1 || tl.Pods[0].Name != "worker-1" || tl.Pods[0].Running.IsZero() || tl.Pods[0].Gone.IsZero() {
		t.Fatalf("pods = %+v", tl.Pods)
	}
	if len(tl.Desired) != 2 || tl.Desired[1].Value != 30 {
		t.Fatalf("desired = %+v", tl.Desired)
	}
	if len(tl.Records) != 1 {
		t.Fatalf("records = %+v", tl.Records)
	}
	if len(tl.Samples) < 2 {
		t.Fatalf("only %d samples", len(tl.Samples))
	}
	for i := 1; i < len(tl.Samples); i++ {
		if tl.Samples[i].At.Before(tl.Samples[i-1].At) {
			t.Fatal("samples out of order")
		}
	}
}
