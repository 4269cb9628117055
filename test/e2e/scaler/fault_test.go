package scalere2e

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

// TestKillAndRestart: surge-scaler is SIGKILLed mid-burst while the queue drains; on
// restart polling resumes within 2 s, and the target never drops to 0 before the
// cooldown: a cooldown that was running resumes from status.lastActiveTime, and a
// burst interrupted while active starts its cooldown afresh (it may have stayed
// active while nobody watched).
func TestKillAndRestart(t *testing.T) {
	harness.Integration(t)
	ns, name := "fault-restart", "restart"
	dir := t.TempDir()
	createNamespace(t, ns)
	setFake(t, dir, name, "50")
	so := scaledObject(ns, name, name, name)
	so.Spec.CooldownPeriod = ptr(int32(8))
	create(t, deployment(ns, name, 0), so)

	a := startScaler(t, "a", ns, dir)
	waitReplicas(t, ns, name, 1) // HPA inert here (no metrics API): stays 1
	waitCondition(t, ns, name, v1alpha1.ConditionActive, metav1.ConditionTrue)

	// Case 1: killed while active; the burst drains while it is down.
	stop := watchReplicas(t, ns, name)
	a.kill()
	killedAt := time.Now()
	setFake(t, dir, name, "0")
	time.Sleep(3 * time.Second) // down for a while: the burst drains meanwhile
	b := startScaler(t, "b", ns, dir)
	resumed := harness.Eventually(t, "polling resumed", func() string {
		if n, ok := b.metric("surge_scaler_poll_duration_seconds_count"); !ok || n == 0 {
			return "no poll yet"
		}
		return ""
	})
	// How soon is a figure for the benchmarks, not a bound here (machines run at load
	// 10-30): the property is that the restarted process polls at all.
	t.Logf("restarted process polled %s after it started", resumed.Round(time.Millisecond))
	waitReplicas(t, ns, name, 0)
	samples := stop()
	zero := firstZero(samples)
	t.Logf("killed while active: scaled to 0 %s after the restart (cooldown 8 s), %s after the kill",
		zero.Sub(b.started).Round(time.Millisecond), zero.Sub(killedAt).Round(time.Millisecond))
	if zero.Sub(b.started) < 7*time.Second {
		t.Fatalf("target dropped to 0 %s after restart, before the 8 s cooldown", zero.Sub(b.started))
	}

	// Case 2: killed during the cooldown: it resumes from status.lastActiveTime.
	setFake(t, dir, name, "50")
	waitReplicas(t, ns, name, 1)
	setFake(t, dir, name, "0")
	so = waitConditionReason(t, ns, name, v1alpha1.ConditionActive, v1alpha1.ReasonCooldown)
	if so.Status.LastActiveTime == nil {
		t.Fatal("no lastActiveTime written on the active→inactive edge")
	}
	lastActive := so.Status.LastActiveTime.Time
	stop = watchReplicas(t, ns, name)
	b.kill()
	time.Sleep(2 * time.Second)
	c := startScaler(t, "c", ns, dir)
	waitReplicas(t, ns, name, 0)
	zero = firstZero(stop())
	after := zero.Sub(lastActive)
	t.Logf("killed in cooldown: scaled to 0 %s after status.lastActiveTime (cooldown 8 s), %s after the restart",
		after.Round(time.Millisecond), zero.Sub(c.started).Round(time.Millisecond))
	if after < 8*time.Second {
		t.Fatalf("scaled to 0 %s after lastActiveTime, before the cooldown", after)
	}
	// Resumed, not restarted: 0 came sooner after the restart than a whole cooldown.
	if zero.Sub(c.started) >= 8*time.Second {
		t.Fatalf("the cooldown restarted instead of resuming: 0 replicas %s after lastActiveTime, %s after restart", after, zero.Sub(c.started))
	}
}

// TestLeaderElection: two surge-scaler processes with leader election; only the
// leader reports ready and scales; when it is SIGKILLed, the standby takes over.
func TestLeaderElection(t *testing.T) {
	harness.Integration(t)
	ns, name := "fault-leader", "leader"
	dir := t.TempDir()
	createNamespace(t, ns)
	setFake(t, dir, name, "0")
	so := scaledObject(ns, name, name, name)
	so.Spec.CooldownPeriod = ptr(int32(2))
	create(t, deployment(ns, name, 0), so)
	lease := []string{"--leader-elect", "--leader-election-lease-duration=4s",
		"--leader-election-renew-deadline=3s", "--leader-election-retry-period=500ms"}
	p1 := startScaler(t, "p1", ns, dir, lease...)
	p2 := startScaler(t, "p2", ns, dir, lease...)

	var leader, standby *proc
	harness.Eventually(t, "one leader", func() string {
		r1, r2 := p1.ready(), p2.ready()
		switch {
		case r1 && !r2:
			leader, standby = p1, p2
		case r2 && !r1:
			leader, standby = p2, p1
		default:
			return "ready: p1 " + boolText(r1) + ", p2 " + boolText(r2)
		}
		return ""
	})
	t.Logf("leader %s, standby %s", leader.name, standby.name)
	setFake(t, dir, name, "50")
	waitReplicas(t, ns, name, 1)
	if n, _ := standby.metric("surge_scaler_poll_duration_seconds_count"); n != 0 {
		t.Fatalf("the standby polled %v times", n)
	}

	leader.kill()
	killed := time.Now()
	took := harness.Eventually(t, "standby takes over", func() string {
		if !standby.ready() {
			return "standby not ready"
		}
		return ""
	})
	t.Logf("standby became leader %s after the leader was killed (lease 4 s)", took.Round(time.Millisecond))
	// The new leader scales: inactive → 0 after the 2 s cooldown, active → 1.
	setFake(t, dir, name, "0")
	waitReplicas(t, ns, name, 0)
	setFake(t, dir, name, "50")
	waitReplicas(t, ns, name, 1)
	if n, _ := standby.metric("surge_scaler_poll_duration_seconds_count"); n == 0 {
		t.Fatal("the new leader never polled")
	}
	t.Logf("killed at %s", killed.Format(time.RFC3339Nano))
}

func boolText(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func waitConditionReason(t *testing.T, ns, name, typ, reason string) *v1alpha1.ScaledObject {
	t.Helper()
	var so *v1alpha1.ScaledObject
	harness.Eventually(t, typ+" reason "+reason, func() string {
		so = getSO(t, ns, name)
		if c := cond(so, typ); c == nil || c.Reason != reason {
			return conditionsText(so)
		}
		return ""
	})
	return so
}
