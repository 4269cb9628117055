package vnodebench

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/fake"
	"github.com/surge-autoscaler/surge/vnode"
)

type noObjects struct{}

func (noObjects) Secret(context.Context, string, string) (*corev1.Secret, error) {
	return nil, fmt.Errorf("none")
}
func (noObjects) ConfigMap(context.Context, string, string) (*corev1.ConfigMap, error) {
	return nil, fmt.Errorf("none")
}

// BenchmarkTrackerPass1000 measures one tracker pass (one Backend.List, the
// status mapping, the notifications) over 1,000 pods on the fake backend: when
// every instance changed (all pods turn Running at once) and in steady state.
// It needs no control plane: go test -short -run '^$' -bench Tracker ./bench/vnode/
func BenchmarkTrackerPass1000(b *testing.B) {
	for _, changed := range []bool{true, false} {
		b.Run(fmt.Sprintf("allChanged=%v", changed), func(b *testing.B) {
			clk := clocktesting.NewFakeClock(time.Unix(1_800_000_000, 0))
			fb := fake.New(fake.Options{Clock: clk, Default: fake.Behavior{StartAfter: time.Second},
				Capacity: providers.Resources{Pods: 5000, MilliCPU: 1 << 30, MemoryBytes: 1 << 40}})
			idx := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
			h, err := vnode.NewHandler(vnode.HandlerConfig{Backend: fb, Provider: "fake", NodeIP: "127.0.0.1",
				Objects: noObjects{}, Pods: corev1listers.NewPodLister(idx), PodsSynced: func() bool { return true }, Clock: clk})
			if err != nil {
				b.Fatal(err)
			}
			notified := 0
			h.NotifyPods(context.Background(), func(*corev1.Pod) { notified++ })
			for i := range 1000 {
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: fmt.Sprintf("p-%d", i), UID: types.UID(fmt.Sprintf("uid-%d", i))},
					Spec: corev1.PodSpec{NodeName: "bench", Containers: []corev1.Container{{Name: "w", Image: "img"}}}}
				_ = idx.Add(p)
				if err := h.CreatePod(context.Background(), p); err != nil {
					b.Fatal(err)
				}
			}
			h.Sync(context.Background()) // everything Pending
			timed := 0
			b.ResetTimer()
			for range b.N {
				if changed {
					b.StopTimer()
					// Recreate every instance one step later, so it turns Pending and,
					// after the clock steps, Running: the timed pass sees 1,000 changes.
					clk.Step(time.Millisecond)
					for i := range 1000 {
						ref := providers.InstanceRef{Namespace: "default", Name: fmt.Sprintf("p-%d", i), UID: fmt.Sprintf("uid-%d", i)}
						_ = fb.Delete(context.Background(), ref)
						_ = fb.Create(context.Background(), &providers.InstanceSpec{Ref: ref, Containers: []providers.ContainerSpec{{Name: "w", Image: "img"}}})
					}
					h.Sync(context.Background())
					clk.Step(2 * time.Second)
					b.StartTimer()
				}
				before := notified
				h.Sync(context.Background())
				timed += notified - before
			}
			b.ReportMetric(float64(timed)/float64(b.N), "notified/op")
		})
	}
}
