package vnode

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/surge-autoscaler/surge/providers"
)

// kickDelay batches a burst of kicks (one per created pod) into one List.
const kickDelay = 20 * time.Millisecond

// RunTracker keeps pod statuses in step with the backend until ctx ends: once per
// interval, and soon after each Kick (every successful create kicks), it lists
// the backend's instances in one call, maps each to its pod's status, notifies
// virtual-kubelet of the statuses that changed, and sweeps instances that no pod
// on this node owns.
func (h *Handler) RunTracker(ctx context.Context, interval time.Duration) {
	t := h.clock.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		case <-h.kick:
			select {
			case <-ctx.Done():
				return
			case <-h.clock.After(kickDelay):
			}
		}
		h.Sync(ctx)
	}
}

// Sync runs one tracker pass; see RunTracker.
func (h *Handler) Sync(ctx context.Context) {
	start := h.clock.Now()
	list, err := h.cfg.Backend.List(ctx)
	h.metrics.listLatency.Observe(h.clock.Since(start).Seconds())
	if err != nil {
		h.metrics.backendError("list", err)
		h.log.Error(err, "cannot list backend instances; statuses are stale until the next pass")
		return
	}
	h.metrics.instances.Set(float64(len(list)))
	byUID := make(map[string]*providers.InstanceStatus, len(list))
	for i := range list {
		byUID[list[i].Ref.UID] = &list[i]
	}
	now := h.clock.Now()
	var changed []*corev1.Pod
	h.mu.Lock()
	for _, e := range h.pods {
		inst, ok := byUID[string(e.pod.UID)]
		if ok {
			delete(byUID, string(e.pod.UID))
		}
		if e.final {
			continue
		}
		var st corev1.PodStatus
		switch {
		case ok && e.lastInst != nil && sameInstance(e.lastInst, inst):
			continue // nothing changed: skip mapping and comparing the pod status
		case ok:
			e.lastInst = inst
			st = PodStatus(e.pod, inst, h.cfg.NodeIP, h.cfg.Provider)
		case now.Sub(e.created) < h.cfg.LostAfter:
			continue // not listed yet: some backends are eventually consistent
		default:
			st = FailedStatus(e.pod, ReasonInstanceLost, "the backend no longer reports an instance for this pod", h.cfg.NodeIP, now)
			e.final = true
		}
		if equality.Semantic.DeepEqual(st, e.pod.Status) {
			continue
		}
		e.pod.Status = st
		if st.Phase == corev1.PodRunning && !e.running {
			e.running = true
			h.metrics.startLatency.Observe(now.Sub(scheduledTime(e.pod, e.created)).Seconds())
		}
		changed = append(changed, e.pod.DeepCopy())
	}
	cb := h.notify
	h.mu.Unlock()
	for _, inst := range byUID {
		h.maybeSweep(ctx, inst.Ref)
	}
	if cb == nil {
		return
	}
	h.notifyAll(cb, changed)
}

// sameInstance reports whether two statuses of an instance are equal. It is
// what keeps a pass cheap at 1,000 pods: comparing whole pod statuses by
// reflection cost ~4 ms per pod under load and dominated the tracker's CPU.
func sameInstance(a, b *providers.InstanceStatus) bool {
	if a.Ref != b.Ref || a.Phase != b.Phase || a.Reason != b.Reason || a.Message != b.Message || a.IP != b.IP ||
		!a.CreatedAt.Equal(b.CreatedAt) || !a.StartedAt.Equal(b.StartedAt) || len(a.Containers) != len(b.Containers) {
		return false
	}
	for i := range a.Containers {
		x, y := &a.Containers[i], &b.Containers[i]
		if x.Name != y.Name || x.State != y.State || x.Reason != y.Reason || x.Message != y.Message ||
			x.ExitCode != y.ExitCode || x.RestartCount != y.RestartCount || x.Ready != y.Ready ||
			!x.StartedAt.Equal(y.StartedAt) || !x.FinishedAt.Equal(y.FinishedAt) {
			return false
		}
	}
	return true
}

// notifyWorkers bounds the notifications in flight. virtual-kubelet's callback
// compares whole pods and may block; one pass waits for all of its
// notifications, so the next pass cannot overtake it for the same pod.
const notifyWorkers = 8

func (h *Handler) notifyAll(cb func(*corev1.Pod), pods []*corev1.Pod) {
	if len(pods) < 2*notifyWorkers {
		for _, p := range pods {
			cb(p)
		}
		return
	}
	work := make(chan *corev1.Pod)
	var wg sync.WaitGroup
	for range notifyWorkers {
		wg.Go(func() {
			for p := range work {
				cb(p)
			}
		})
	}
	for _, p := range pods {
		work <- p
	}
	close(work)
	wg.Wait()
}

// maybeSweep deletes, in the background, an instance that no pod on this node
// owns: its pod is gone from the API (deleted while surge-vnode was down) or has
// another UID (recreated under the same name). An instance whose pod is there but
// not yet handed to CreatePod (just after a restart) is left alone: CreatePod
// re-adopts it.
func (h *Handler) maybeSweep(ctx context.Context, ref providers.InstanceRef) {
	if !h.cfg.PodsSynced() {
		return
	}
	if pod, err := h.cfg.Pods.Pods(ref.Namespace).Get(ref.Name); err == nil && string(pod.UID) == ref.UID {
		return
	}
	h.mu.Lock()
	if h.sweeping[ref.UID] {
		h.mu.Unlock()
		return
	}
	h.sweeping[ref.UID] = true
	h.mu.Unlock()
	go func() {
		defer func() {
			h.mu.Lock()
			delete(h.sweeping, ref.UID)
			h.mu.Unlock()
		}()
		err := h.cfg.Backend.Delete(ctx, ref)
		if err != nil && !providers.IsNotFound(err) {
			h.metrics.backendError("delete", err)
			h.log.Error(err, "cannot sweep an instance without a pod; retrying on a later pass", "pod", key(ref.Namespace, ref.Name), "uid", ref.UID)
			return
		}
		h.metrics.swept.Inc()
		h.log.Info("swept an instance without a pod", "pod", key(ref.Namespace, ref.Name), "uid", ref.UID)
	}()
}
