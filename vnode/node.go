package vnode

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/virtual-kubelet/virtual-kubelet/node"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/providers"
)

// Node labels and taint every surge virtual node carries.
const (
	TaintKey       = "virtual-kubelet.io/provider"
	LabelType      = "type"
	LabelTypeValue = "virtual-kubelet"
	LabelRole      = "kubernetes.io/role"
	LabelRoleValue = "agent"
)

// KubeletVersion is what the node reports as its kubelet version.
var KubeletVersion = "v1.37.2-surge-vnode"

// NodeConfig describes the virtual node.
type NodeConfig struct {
	Name        string
	Provider    string // taint value
	IP          string // InternalIP
	KubeletPort int32
	Labels      map[string]string // added to the standard labels
}

// NewNode returns the Node object surge-vnode registers: taint
// virtual-kubelet.io/provider=<provider>:NoSchedule, labels type=virtual-kubelet,
// kubernetes.io/role=agent (plus hostname, os, arch), capacity and allocatable
// from the backend, the usual conditions, the InternalIP and the kubelet port.
func NewNode(cfg NodeConfig, capacity providers.Resources) *corev1.Node {
	labels := map[string]string{
		LabelType:                          LabelTypeValue,
		LabelRole:                          LabelRoleValue,
		corev1.LabelHostname:               cfg.Name,
		corev1.LabelOSStable:               "linux",
		corev1.LabelArchStable:             runtime.GOARCH,
		"node.kubernetes.io/instance-type": "virtual-kubelet",
	}
	for k, v := range cfg.Labels {
		labels[k] = v
	}
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: cfg.Name, Labels: labels},
		Spec: corev1.NodeSpec{Taints: []corev1.Taint{{
			Key: TaintKey, Value: cfg.Provider, Effect: corev1.TaintEffectNoSchedule,
		}}},
		Status: corev1.NodeStatus{
			NodeInfo: corev1.NodeSystemInfo{
				OperatingSystem: "linux", Architecture: runtime.GOARCH,
				KubeletVersion: KubeletVersion, ContainerRuntimeVersion: "surge-" + cfg.Provider + "://1",
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: cfg.KubeletPort}},
			// InternalIP only: the API server tries Hostname first, and the node's
			// name resolves nowhere.
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: cfg.IP}},
			Conditions: nodeConditions(time.Now()),
		},
	}
	setCapacity(n, capacity)
	return n
}

func setCapacity(n *corev1.Node, c providers.Resources) {
	rl := corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewMilliQuantity(c.MilliCPU, resource.DecimalSI),
		corev1.ResourceMemory: *resource.NewQuantity(c.MemoryBytes, resource.BinarySI),
		corev1.ResourcePods:   *resource.NewQuantity(c.Pods, resource.DecimalSI),
	}
	n.Status.Capacity = rl
	n.Status.Allocatable = rl.DeepCopy()
}

func nodeConditions(now time.Time) []corev1.NodeCondition {
	t := metav1.NewTime(now)
	cond := func(typ corev1.NodeConditionType, status corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: typ, Status: status, Reason: reason, Message: msg, LastHeartbeatTime: t, LastTransitionTime: t}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "surge-vnode is ready"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "no memory pressure"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "no disk pressure"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "no PID pressure"),
		cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", "no network setup needed"),
	}
}

// NodeProvider keeps the node's status in step with the backend: Ping checks the
// backend answers; capacity is re-read every interval and a change is pushed to
// virtual-kubelet.
type NodeProvider struct {
	backend  providers.Backend
	node     *corev1.Node
	interval time.Duration
	log      logr.Logger

	mu sync.Mutex
	cb func(*corev1.Node)
}

var _ node.NodeProvider = (*NodeProvider)(nil)

// NewNodeProvider returns a provider for n (which it keeps and updates).
func NewNodeProvider(b providers.Backend, n *corev1.Node, interval time.Duration, log logr.Logger) *NodeProvider {
	return &NodeProvider{backend: b, node: n.DeepCopy(), interval: interval, log: log}
}

// Ping reports whether the backend answers a Capacity call.
func (p *NodeProvider) Ping(ctx context.Context) error {
	_, err := p.backend.Capacity(ctx)
	return err
}

// NotifyNodeStatus registers the callback; it does not block.
func (p *NodeProvider) NotifyNodeStatus(_ context.Context, cb func(*corev1.Node)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cb = cb
}

// Run re-reads the backend's capacity every interval until ctx ends.
func (p *NodeProvider) Run(ctx context.Context) {
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c, err := p.backend.Capacity(ctx)
		if err != nil {
			p.log.Error(err, "cannot read backend capacity")
			continue
		}
		p.mu.Lock()
		n := p.node.DeepCopy()
		setCapacity(n, c)
		changed := !equality.Semantic.DeepEqual(n.Status.Capacity, p.node.Status.Capacity)
		p.node = n
		cb := p.cb
		p.mu.Unlock()
		if changed && cb != nil {
			p.log.Info("backend capacity changed", "cpu", c.MilliCPU, "memoryBytes", c.MemoryBytes, "pods", c.Pods)
			cb(n.DeepCopy())
		}
	}
}
