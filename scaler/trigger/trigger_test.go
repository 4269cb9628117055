package trigger

import (
	"errors"
	"math"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

var errMeasure = errors.New("measurement failed")

func TestRuleActive(t *testing.T) {
	r := Rule{Target: 10, Activation: 2}
	tests := []struct {
		name string
		s    Sample
		want bool
	}{
		{"above the threshold", Sample{Value: 2.001}, true},
		{"at the threshold is not active", Sample{Value: 2}, false},
		{"below", Sample{Value: 0}, false},
		{"failed with a high last value", Sample{Value: 100, Err: errMeasure, ConsecutiveFailures: 1}, false},
		{"NaN", Sample{Value: math.NaN()}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.Active(tc.s); got != tc.want {
				t.Fatalf("Active(%+v) = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

func TestRuleBurstReplicas(t *testing.T) {
	avg := Rule{Target: 10, Type: autoscalingv2.AverageValueMetricType}
	tests := []struct {
		name string
		r    Rule
		s    Sample
		want int32
	}{
		{"ceil of value over target", avg, Sample{Value: 95}, 10},
		{"exact multiple", avg, Sample{Value: 30}, 3},
		{"empty type is AverageValue", Rule{Target: 10}, Sample{Value: 11}, 2},
		{"inactive asks for nothing", Rule{Target: 10, Activation: 50}, Sample{Value: 40}, 0},
		{"a Value metric asks for nothing", Rule{Target: 10, Type: autoscalingv2.ValueMetricType}, Sample{Value: 500}, 0},
		{"failed asks for nothing", avg, Sample{Value: 500, Err: errMeasure}, 0},
		{"no positive target asks for nothing", Rule{Target: 0}, Sample{Value: 500}, 0},
		{"bounded to int32", avg, Sample{Value: 1e300}, math.MaxInt32},
		{"infinite value bounded", avg, Sample{Value: math.Inf(1)}, math.MaxInt32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.BurstReplicas(tc.s); got != tc.want {
				t.Fatalf("BurstReplicas = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestFallbackApplies(t *testing.T) {
	f := &Fallback{FailureThreshold: 3, Replicas: 5}
	tests := []struct {
		name string
		f    *Fallback
		s    Sample
		want bool
	}{
		{"below the threshold", f, Sample{Err: errMeasure, ConsecutiveFailures: 2}, false},
		{"at the threshold", f, Sample{Err: errMeasure, ConsecutiveFailures: 3}, true},
		{"past the threshold", f, Sample{Err: errMeasure, ConsecutiveFailures: 9}, true},
		{"no fallback configured", nil, Sample{Err: errMeasure, ConsecutiveFailures: 9}, false},
		{"a healthy sample never falls back, whatever its count", f, Sample{Value: 1, ConsecutiveFailures: 9}, false},
		{"failed but not yet counted", f, Sample{Err: errMeasure}, false},
		{"threshold 0 is taken as 1", &Fallback{Replicas: 5}, Sample{Err: errMeasure, ConsecutiveFailures: 1}, true},
		{"negative threshold is taken as 1", &Fallback{FailureThreshold: -4}, Sample{Err: errMeasure, ConsecutiveFailures: 0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.Applies(tc.s); got != tc.want {
				t.Fatalf("Applies(%+v) = %v, want %v", tc.s, got, tc.want)
			}
		})
	}
}

func TestFallbackHoldAndValue(t *testing.T) {
	tests := []struct {
		behavior v1alpha1.FallbackBehavior
		current  int32
		want     int32
	}{
		{"", 7, 5},
		{v1alpha1.FallbackStatic, 7, 5},
		{v1alpha1.FallbackCurrentReplicas, 7, 7},
		{v1alpha1.FallbackCurrentReplicasIfHigher, 7, 7},
		{v1alpha1.FallbackCurrentReplicasIfHigher, 2, 5},
		{v1alpha1.FallbackCurrentReplicasIfLower, 7, 5},
		{v1alpha1.FallbackCurrentReplicasIfLower, 2, 2},
	}
	for _, tc := range tests {
		f := &Fallback{FailureThreshold: 3, Replicas: 5, Behavior: tc.behavior}
		if got := f.Hold(tc.current); got != tc.want {
			t.Errorf("Hold(%d) with %q = %d, want %d", tc.current, tc.behavior, got, tc.want)
		}
	}
	if v := (&Fallback{Replicas: 3}).Value(Rule{Target: 0.5}); v != 1.5 {
		t.Errorf("Value = %v, want 1.5 (replicas × target)", v)
	}
}

func TestSpecHash(t *testing.T) {
	a := Spec{Type: "rabbitmq", Namespace: "ns", Metadata: map[string]string{"queueName": "q", "value": "5"}, AuthParams: map[string]string{"host": "amqp://u:p@h"}}
	b := Spec{Type: "rabbitmq", Namespace: "ns", Metadata: map[string]string{"value": "5", "queueName": "q"}, AuthParams: map[string]string{"host": "amqp://u:p@h"}}
	if a.Hash() != b.Hash() {
		t.Fatal("the same spec hashes differently")
	}
	b.AuthParams = map[string]string{"host": "amqp://u:other@h"}
	if a.Hash() == b.Hash() {
		t.Fatal("a changed secret keeps the hash: the trigger would not be rebuilt")
	}
	if len(a.Hash()) != 32 {
		t.Fatalf("hash %q: want 32 hex digits", a.Hash())
	}
}

func TestMetricType(t *testing.T) {
	if MetricType("") != autoscalingv2.AverageValueMetricType || MetricType("Value") != autoscalingv2.ValueMetricType {
		t.Fatal("MetricType: empty must mean AverageValue (KEDA's default)")
	}
}
