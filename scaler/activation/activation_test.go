package activation

import (
	"errors"
	"testing"
	"time"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func i32(v int32) *int32 { return &v }

// base is a ScaledObject created at t0 with KEDA's defaults and a 60 s cooldown.
func base() Spec {
	return Spec{MinReplicas: 0, MaxReplicas: 100, Cooldown: 60 * time.Second, Created: t0}
}

// tr is one trigger's latest reading, written the short way.
type tr struct {
	Value               float64
	Failed              bool
	ConsecutiveFailures int
	Activation, Target  float64
	AverageValue        bool
}

func readings(ts ...tr) []trigger.Reading {
	out := make([]trigger.Reading, 0, len(ts))
	for _, t := range ts {
		r := trigger.Reading{Metric: trigger.Metric{Rule: trigger.Rule{Target: t.Target, Activation: t.Activation, Type: autoscalingv2.ValueMetricType}},
			Sample: trigger.Sample{Value: t.Value, ConsecutiveFailures: t.ConsecutiveFailures}}
		if t.AverageValue {
			r.Rule.Type = autoscalingv2.AverageValueMetricType
		}
		if t.Failed {
			r.Err = errors.New("measurement failed")
		}
		out = append(out, r)
	}
	return out
}

func active(v float64) tr { return tr{Value: v, Target: 10, AverageValue: true} }
func inactive() tr        { return tr{Value: 0, Target: 10, AverageValue: true} }
func failing(n int) tr {
	return tr{Failed: true, ConsecutiveFailures: n, Target: 10, AverageValue: true}
}
func with(s Spec, f func(*Spec)) Spec { f(&s); return s }

type want struct {
	scale        bool
	replicas     int32
	active       bool
	activeReason string
	fallback     bool
	fbReplicas   int32
	health       Health
	paused       bool
	lastActive   time.Time
}

func TestDecide(t *testing.T) {
	// A fake clock drives "now" exactly as the controller's injected clock does.
	clk := clocktesting.NewFakeClock(t0)
	at := func(d time.Duration) time.Time { clk.SetTime(t0.Add(d)); return clk.Now() }
	lastActive := t0.Add(10 * time.Minute)
	fb := &trigger.Fallback{FailureThreshold: 3, Replicas: 5}

	tests := []struct {
		name string
		in   Input
		want want
	}{
		// Activation 0 → N.
		{name: "active from zero scales to one",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(active(1))},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "active from zero scales to minReplicaCount",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas = 3 }), Triggers: readings(active(1))},
			want: want{scale: true, replicas: 3, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "value equal to activation threshold is not active",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(tr{Value: 2, Activation: 2, Target: 10, AverageValue: true})},
			want: want{active: false, activeReason: v1alpha1.ReasonNotActive}},
		{name: "value just above activation threshold is active",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(tr{Value: 2.001, Activation: 2, Target: 10, AverageValue: true})},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "active while running only refreshes last active",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(active(50)), CurrentReplicas: 4, LastActive: lastActive},
			want: want{active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "any active trigger activates",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(inactive(), active(1))},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "active with idle replicas below min scales to min",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas, s.IdleReplicas = 2, i32(1) }), Triggers: readings(active(1)), CurrentReplicas: 1},
			want: want{scale: true, replicas: 2, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "active with idle zero scales to min",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas, s.IdleReplicas = 2, i32(0) }), Triggers: readings(active(1))},
			want: want{scale: true, replicas: 2, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},

		// Burst start.
		{name: "burst start scales to ceil(value/target)",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart = true }), Triggers: readings(active(95))},
			want: want{scale: true, replicas: 10, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "burst start takes the most demanding active trigger",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart = true }), Triggers: readings(active(30), active(150), failing(1))},
			want: want{scale: true, replicas: 15, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour), health: PartialFailure}},
		{name: "burst start is bounded by maxReplicaCount",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart, s.MaxReplicas = true, 5 }), Triggers: readings(active(1000))},
			want: want{scale: true, replicas: 5, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "burst start never goes below minReplicaCount",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart, s.MinReplicas = true, 4 }), Triggers: readings(active(11))},
			want: want{scale: true, replicas: 4, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "burst start ignores Value metrics",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart = true }), Triggers: readings(tr{Value: 500, Target: 10})},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "burst start off keeps KEDA's one replica",
			in:   Input{Now: at(time.Hour), Spec: base(), Triggers: readings(active(95))},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},
		{name: "burst start does not rescale a running target",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.BurstStart = true }), Triggers: readings(active(95)), CurrentReplicas: 2},
			want: want{active: true, activeReason: v1alpha1.ReasonActive, lastActive: at(time.Hour)}},

		// Cooldown N → 0.
		{name: "inactive inside cooldown holds",
			in:   Input{Now: lastActive.Add(59 * time.Second), Spec: base(), Triggers: readings(inactive()), CurrentReplicas: 3, LastActive: lastActive},
			want: want{active: true, activeReason: v1alpha1.ReasonCooldown, lastActive: lastActive}},
		{name: "inactive exactly at cooldown end holds",
			in:   Input{Now: lastActive.Add(60 * time.Second), Spec: base(), Triggers: readings(inactive()), CurrentReplicas: 3, LastActive: lastActive},
			want: want{active: true, activeReason: v1alpha1.ReasonCooldown, lastActive: lastActive}},
		{name: "inactive just after cooldown scales to zero",
			in:   Input{Now: lastActive.Add(60*time.Second + time.Nanosecond), Spec: base(), Triggers: readings(inactive()), CurrentReplicas: 3, LastActive: lastActive},
			want: want{scale: true, replicas: 0, active: false, activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "inactive after cooldown scales to idle replicas",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas, s.IdleReplicas = 3, i32(1) }), Triggers: readings(inactive()), CurrentReplicas: 5, LastActive: lastActive},
			want: want{scale: true, replicas: 1, activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "inactive at idle replicas holds",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas, s.IdleReplicas = 3, i32(1) }), Triggers: readings(inactive()), CurrentReplicas: 1, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "inactive with min above zero holds min",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas = 2 }), Triggers: readings(inactive()), CurrentReplicas: 2, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "inactive below min scales up to min",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.MinReplicas = 2 }), Triggers: readings(inactive()), CurrentReplicas: 0, LastActive: lastActive},
			want: want{scale: true, replicas: 2, activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "inactive at zero does nothing",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: base(), Triggers: readings(inactive()), LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, lastActive: lastActive}},
		{name: "never active: scaled in once created",
			in:   Input{Now: at(time.Nanosecond), Spec: base(), Triggers: readings(inactive()), CurrentReplicas: 2},
			want: want{scale: true, replicas: 0, activeReason: v1alpha1.ReasonNotActive}},
		{name: "never active: initial cooldown holds at its end",
			in:   Input{Now: at(30 * time.Second), Spec: with(base(), func(s *Spec) { s.InitialCooldown = 30 * time.Second }), Triggers: readings(inactive()), CurrentReplicas: 2},
			want: want{active: true, activeReason: v1alpha1.ReasonCooldown}},
		{name: "never active: scaled in just after initial cooldown",
			in:   Input{Now: at(30*time.Second + time.Nanosecond), Spec: with(base(), func(s *Spec) { s.InitialCooldown = 30 * time.Second }), Triggers: readings(inactive()), CurrentReplicas: 2},
			want: want{scale: true, replicas: 0, activeReason: v1alpha1.ReasonNotActive}},
		{name: "initial cooldown is a floor even after an old active time",
			in:   Input{Now: at(2 * time.Minute), Spec: with(base(), func(s *Spec) { s.InitialCooldown = 5 * time.Minute; s.Cooldown = 0 }), Triggers: readings(inactive()), CurrentReplicas: 2, LastActive: t0.Add(time.Second)},
			want: want{active: true, activeReason: v1alpha1.ReasonCooldown, lastActive: t0.Add(time.Second)}},

		// Errors and fallback.
		{name: "errors without fallback never scale in",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: base(), Triggers: readings(failing(50)), CurrentReplicas: 3, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, health: Failing, lastActive: lastActive}},
		{name: "partial failure with an inactive trigger holds",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: base(), Triggers: readings(failing(1), inactive()), CurrentReplicas: 3, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, health: PartialFailure, lastActive: lastActive}},
		{name: "fallback: one failure short of the threshold holds",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(2)), CurrentReplicas: 2, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, health: Failing, lastActive: lastActive}},
		{name: "fallback: at the threshold scales to fallback replicas",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(3)), CurrentReplicas: 2, LastActive: lastActive},
			want: want{scale: true, replicas: 5, activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: Failing, lastActive: lastActive}},
		{name: "fallback: already at fallback replicas holds",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(9)), CurrentReplicas: 5, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: Failing, lastActive: lastActive}},
		{name: "fallback: never from zero",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(9)), CurrentReplicas: 0, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: Failing, lastActive: lastActive}},
		{name: "fallback: bounded by maxReplicaCount",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = &trigger.Fallback{FailureThreshold: 1, Replicas: 50}; s.MaxReplicas = 8 }), Triggers: readings(failing(1)), CurrentReplicas: 2, LastActive: lastActive},
			want: want{scale: true, replicas: 8, activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 8, health: Failing, lastActive: lastActive}},
		{name: "fallback: currentReplicas holds current",
			in: Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) {
				s.Fallback = &trigger.Fallback{FailureThreshold: 3, Replicas: 5, Behavior: v1alpha1.FallbackCurrentReplicas}
			}), Triggers: readings(failing(3)), CurrentReplicas: 7, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 7, health: Failing, lastActive: lastActive}},
		{name: "fallback: currentReplicasIfHigher keeps the higher current",
			in: Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) {
				s.Fallback = &trigger.Fallback{FailureThreshold: 3, Replicas: 5, Behavior: v1alpha1.FallbackCurrentReplicasIfHigher}
			}), Triggers: readings(failing(3)), CurrentReplicas: 7, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 7, health: Failing, lastActive: lastActive}},
		{name: "fallback: currentReplicasIfHigher raises a lower current",
			in: Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) {
				s.Fallback = &trigger.Fallback{FailureThreshold: 3, Replicas: 5, Behavior: v1alpha1.FallbackCurrentReplicasIfHigher}
			}), Triggers: readings(failing(3)), CurrentReplicas: 2, LastActive: lastActive},
			want: want{scale: true, replicas: 5, activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: Failing, lastActive: lastActive}},
		{name: "fallback: currentReplicasIfLower lowers a higher current",
			in: Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) {
				s.Fallback = &trigger.Fallback{FailureThreshold: 3, Replicas: 5, Behavior: v1alpha1.FallbackCurrentReplicasIfLower}
			}), Triggers: readings(failing(3)), CurrentReplicas: 7, LastActive: lastActive},
			want: want{scale: true, replicas: 5, activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: Failing, lastActive: lastActive}},
		{name: "fallback: currentReplicasIfLower keeps a lower current",
			in: Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) {
				s.Fallback = &trigger.Fallback{FailureThreshold: 3, Replicas: 5, Behavior: v1alpha1.FallbackCurrentReplicasIfLower}
			}), Triggers: readings(failing(3)), CurrentReplicas: 2, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 2, health: Failing, lastActive: lastActive}},
		{name: "fallback: a healthy trigger leaves it to the HPA",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(3), inactive()), CurrentReplicas: 2, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 5, health: PartialFailure, lastActive: lastActive}},
		{name: "fallback: an active trigger wins",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = fb }), Triggers: readings(failing(3), active(5)), CurrentReplicas: 0},
			want: want{scale: true, replicas: 1, active: true, activeReason: v1alpha1.ReasonActive, fallback: true, fbReplicas: 5, health: PartialFailure, lastActive: at(time.Hour)}},
		{name: "fallback: zero replicas scales in after cooldown as KEDA does",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Fallback = &trigger.Fallback{FailureThreshold: 1, Replicas: 0} }), Triggers: readings(failing(4)), CurrentReplicas: 3, LastActive: lastActive},
			want: want{scale: true, replicas: 0, activeReason: v1alpha1.ReasonNotActive, fallback: true, fbReplicas: 0, health: Failing, lastActive: lastActive}},

		// Pause.
		{name: "paused with replicas scales to them",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.Pause = v1alpha1.Pause{Paused: true, Replicas: i32(4)} }), Triggers: readings(active(100)), CurrentReplicas: 1},
			want: want{scale: true, replicas: 4, activeReason: v1alpha1.ReasonPaused, paused: true}},
		{name: "paused at its replicas holds",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.Pause = v1alpha1.Pause{Paused: true, Replicas: i32(4)} }), Triggers: readings(active(100)), CurrentReplicas: 4},
			want: want{activeReason: v1alpha1.ReasonPaused, paused: true}},
		{name: "paused without replicas holds the current count",
			in:   Input{Now: lastActive.Add(time.Hour), Spec: with(base(), func(s *Spec) { s.Pause = v1alpha1.Pause{Paused: true} }), Triggers: readings(inactive()), CurrentReplicas: 6, LastActive: lastActive},
			want: want{activeReason: v1alpha1.ReasonPaused, paused: true, lastActive: lastActive}},
		{name: "paused to zero",
			in:   Input{Now: at(time.Hour), Spec: with(base(), func(s *Spec) { s.Pause = v1alpha1.Pause{Paused: true, Replicas: i32(0)} }), Triggers: readings(active(100)), CurrentReplicas: 3},
			want: want{scale: true, replicas: 0, activeReason: v1alpha1.ReasonPaused, paused: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Decide(tt.in)
			got := want{scale: d.Scale, replicas: d.Replicas, active: d.Active, activeReason: d.ActiveReason,
				fallback: d.Fallback, fbReplicas: d.FallbackReplicas, health: d.Health, paused: d.Paused, lastActive: d.LastActive}
			if got != tt.want {
				t.Fatalf("Decide:\n got  %+v\n want %+v", got, tt.want)
			}
			if d.Scale && (d.Reason == "" || d.Message == "") {
				t.Errorf("a scale needs a reason and a message for its event: %+v", d)
			}
			if !d.Scale && (d.Reason != "" || d.Message != "") {
				t.Errorf("no scale, yet reason %q message %q", d.Reason, d.Message)
			}
		})
	}
}

// TestCooldownWalk walks a fake clock through one active burst and its cooldown,
// one poll per second, and checks the target is scaled in exactly once, right after
// the cooldown.
func TestCooldownWalk(t *testing.T) {
	clk := clocktesting.NewFakeClock(t0)
	spec := with(base(), func(s *Spec) { s.Cooldown = 10 * time.Second })
	var replicas int32
	var last time.Time
	var scaledIn []time.Time
	for i := 0; i < 40; i++ {
		trig := inactive()
		if i >= 5 && i < 15 { // active from t0+5s to t0+14s
			trig = active(20)
		}
		d := Decide(Input{Now: clk.Now(), Spec: spec, Triggers: readings(trig), CurrentReplicas: replicas, LastActive: last})
		if d.Scale {
			if d.Replicas == 0 {
				scaledIn = append(scaledIn, clk.Now())
			}
			replicas = d.Replicas
		}
		last = d.LastActive
		clk.Step(time.Second)
	}
	// Last active at t0+14s; cooldown 10 s; first poll strictly after t0+24s is t0+25s.
	if len(scaledIn) != 1 || !scaledIn[0].Equal(t0.Add(25*time.Second)) {
		t.Fatalf("scaled in at %v, want once at %v", scaledIn, t0.Add(25*time.Second))
	}
}
