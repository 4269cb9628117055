package controller

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/surge-autoscaler/surge/scaler/activation"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/store"
)

// recorderFake records events; it is safe for concurrent use.
type recorderFake struct {
	mu     sync.Mutex
	events []string
}

func (r *recorderFake) Eventf(_ runtime.Object, _ runtime.Object, typ, reason, _, note string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, typ+" "+reason+": "+fmt.Sprintf(note, args...))
}

func (r *recorderFake) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}

func TestRecordTransitions(t *testing.T) {
	rec := &recorderFake{}
	r := New(Options{Store: store.New(store.Options{}), Recorder: rec, Log: logr.Discard(), LastActiveRefresh: time.Minute})
	st := &objState{key: types.NamespacedName{Namespace: "ns", Name: "so"}}
	so := r.eventObject(st)
	act := func(at time.Time) activation.Decision {
		return activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonActive, LastActive: at}
	}
	steps := []struct {
		name   string
		d      activation.Decision
		fail   string
		kick   bool
		events int
	}{
		{name: "first decision", d: act(t0), kick: true},
		{name: "steady active", d: act(t0.Add(time.Second)), kick: false},
		{name: "still steady", d: act(t0.Add(59 * time.Second)), kick: false},
		{name: "lastActiveTime refresh due", d: act(t0.Add(61 * time.Second)), kick: true},
		{name: "cooldown edge", d: activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonCooldown, LastActive: t0.Add(61 * time.Second)}, kick: true},
		{name: "all triggers fail", d: activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonCooldown, Health: activation.Failing}, fail: "down", kick: true, events: 1},
		{name: "fallback starts", d: activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonCooldown, Health: activation.Failing, Fallback: true, FallbackReplicas: 3}, fail: "down", kick: true, events: 1},
		{name: "fallback holds", d: activation.Decision{Active: true, ActiveReason: v1alpha1.ReasonCooldown, Health: activation.Failing, Fallback: true, FallbackReplicas: 3}, fail: "down", kick: false},
		{name: "recovered", d: act(t0.Add(2 * time.Minute)), kick: true, events: 2},
	}
	for _, s := range steps {
		kick := r.record(st, s.d, s.fail, so)
		if s.name == "lastActiveTime refresh due" {
			st.persistedLA = t0.Add(61 * time.Second) // what writeStatus records
		}
		if s.name == "first decision" {
			st.persistedLA = t0
		}
		if kick != s.kick {
			t.Fatalf("%s: kick %v, want %v", s.name, kick, s.kick)
		}
		if ev := rec.take(); len(ev) != s.events {
			t.Fatalf("%s: events %v, want %d", s.name, ev, s.events)
		}
	}
}
