package controller

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/store"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// objState is what surge-scaler keeps in memory per ScaledObject. The spec side is
// written by Reconcile, the runtime side by the poll; both under mu.
type objState struct {
	mu  sync.Mutex
	key types.NamespacedName
	uid types.UID

	// Spec side.
	valid            bool
	specErrs         specErrors
	lastSpecEvent    string
	pause            v1alpha1.Pause
	target           Target
	targetResolved   bool
	scalableUID      types.UID
	spec             activation.Spec
	interval         time.Duration
	triggers         []trigger.Metric            // registered with the store, in spec order
	built            map[string]trigger.Metric   // by trigger spec hash
	gauges           map[string]prometheus.Gauge // surge_scaler_active by metric name
	originalReplicas *int32
	hpaName          string

	// Runtime side.
	lastActive    time.Time
	decided       bool
	decision      activation.Decision
	failure       string // first trigger error of the latest poll
	persistedLA   time.Time
	lastWritten   *v1alpha1.ScaledObjectStatus
	lastWrittenRV string
}

// remember records regs as the triggers built for their spec hashes and resolves
// each one's surge_scaler_active series once.
func (st *objState) remember(regs []store.Registration, m *metrics) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.built = make(map[string]trigger.Metric, len(regs))
	gauges := make(map[string]prometheus.Gauge, len(regs))
	for _, r := range regs {
		st.built[r.SpecHash] = r.Metric
		g, ok := st.gauges[r.Key.Name]
		if !ok {
			g = m.active.WithLabelValues(r.Key.Namespace, st.key.Name, r.Ident, r.Key.Name)
		}
		gauges[r.Key.Name] = g
	}
	st.gauges = gauges
}

// newObjState creates the state of so, taking the last active time from its status.
// After a restart, if the status says a trigger was active (not merely cooling
// down), the last active time is taken as now: the trigger may have stayed active
// while surge-scaler was down, so the cooldown restarts rather than expiring at once.
// A cooldown already running resumes from status.lastActiveTime, which is written
// exactly on every active→inactive edge.
func newObjState(so *v1alpha1.ScaledObject, now time.Time) *objState {
	st := &objState{key: types.NamespacedName{Namespace: so.Namespace, Name: so.Name}, uid: so.UID, built: map[string]trigger.Metric{}}
	if t := so.Status.LastActiveTime; t != nil {
		st.lastActive = t.Time
		st.persistedLA = t.Time
	}
	if c := meta.FindStatusCondition(so.Status.Conditions, v1alpha1.ConditionActive); c != nil &&
		c.Status == "True" && c.Reason == v1alpha1.ReasonActive && now.After(st.lastActive) {
		st.lastActive = now
	}
	return st
}

// statusView is the runtime part of the status, compared between polls to decide
// whether a status write is needed.
type statusView struct {
	decided      bool
	active       bool
	activeReason string
	fallback     bool
	health       activation.Health
}

func (st *objState) view() statusView {
	return statusView{decided: st.decided, active: st.decision.Active, activeReason: st.decision.ActiveReason,
		fallback: st.decision.Fallback, health: st.decision.Health}
}
