package vnode

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/fake"
)

func TestNewNode(t *testing.T) {
	n := NewNode(NodeConfig{Name: "vn", Provider: "local", IP: "127.0.0.1", KubeletPort: 10250, Labels: map[string]string{"zone": "edge"}},
		providers.Resources{MilliCPU: 2000, MemoryBytes: 4 << 30, Pods: 110})
	if len(n.Spec.Taints) != 1 || n.Spec.Taints[0] != (corev1.Taint{Key: TaintKey, Value: "local", Effect: corev1.TaintEffectNoSchedule}) {
		t.Fatalf("taints %+v", n.Spec.Taints)
	}
	for k, v := range map[string]string{"type": "virtual-kubelet", "kubernetes.io/role": "agent", "kubernetes.io/hostname": "vn", "zone": "edge"} {
		if n.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, n.Labels[k], v)
		}
	}
	if n.Status.Allocatable.Cpu().MilliValue() != 2000 || n.Status.Allocatable.Memory().Value() != 4<<30 || n.Status.Allocatable.Pods().Value() != 110 {
		t.Errorf("allocatable %v", n.Status.Allocatable)
	}
	if len(n.Status.Addresses) != 1 || n.Status.Addresses[0] != (corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: "127.0.0.1"}) {
		t.Errorf("addresses %v (only the InternalIP: the API server would dial a Hostname address first)", n.Status.Addresses)
	}
	if n.Status.DaemonEndpoints.KubeletEndpoint.Port != 10250 {
		t.Errorf("kubelet port %d", n.Status.DaemonEndpoints.KubeletEndpoint.Port)
	}
	ready := false
	for _, c := range n.Status.Conditions {
		ready = ready || (c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue)
	}
	if !ready {
		t.Error("node not Ready")
	}
}

func TestNodeProviderPushesCapacityChanges(t *testing.T) {
	b := fake.New(fake.Options{Capacity: providers.Resources{MilliCPU: 1000, MemoryBytes: 1 << 30, Pods: 10}})
	n := NewNode(NodeConfig{Name: "vn", Provider: "fake", IP: "127.0.0.1"}, providers.Resources{MilliCPU: 1000, MemoryBytes: 1 << 30, Pods: 5})
	p := NewNodeProvider(b, n, 10*time.Millisecond, logr.Discard())
	got := make(chan *corev1.Node, 10)
	p.NotifyNodeStatus(context.Background(), func(n *corev1.Node) { got <- n })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	select {
	case n := <-got:
		if n.Status.Capacity.Pods().Value() != 10 {
			t.Fatalf("pushed capacity %v", n.Status.Capacity)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("capacity change not pushed")
	}
	select {
	case n := <-got:
		t.Fatalf("pushed again without a change: %v", n.Status.Capacity)
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	<-done // the loop must not take the injected error below
	if err := p.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	b.FailNext(fake.OpCapacity, providers.NewError(providers.KindTransient, context.DeadlineExceeded))
	if err := p.Ping(context.Background()); err == nil {
		t.Fatal("Ping hid a backend failure")
	}
}
