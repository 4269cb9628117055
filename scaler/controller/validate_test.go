package controller

import (
	"encoding/json"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

func i32(v int32) *int32 { return &v }

func validSO() *v1alpha1.ScaledObject {
	return &v1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "ns"},
		Spec: v1alpha1.ScaledObjectSpec{
			ScaleTargetRef: &v1alpha1.ScaleTarget{Name: "web"},
			Triggers:       []v1alpha1.ScaleTriggers{{Type: "fake", Metadata: map[string]string{"name": "a"}}},
		},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*v1alpha1.ScaledObject)
		field  string // "" = valid
	}{
		{name: "valid", mutate: func(*v1alpha1.ScaledObject) {}},
		{name: "valid with everything", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount, so.Spec.IdleReplicaCount = i32(2), i32(5), i32(0)
			so.Spec.Fallback = &v1alpha1.Fallback{FailureThreshold: 3, Replicas: 4, Behavior: v1alpha1.FallbackCurrentReplicasIfHigher}
			so.Spec.Triggers = append(so.Spec.Triggers, v1alpha1.ScaleTriggers{Type: "fake", Name: "b",
				AuthenticationRef: &v1alpha1.AuthenticationRef{Name: "x", Kind: "ClusterTriggerAuthentication"}})
		}},
		{name: "no target", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.ScaleTargetRef = nil }, field: "spec.scaleTargetRef"},
		{name: "empty target name", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.ScaleTargetRef.Name = "" }, field: "spec.scaleTargetRef.name"},
		{name: "bad apiVersion", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.ScaleTargetRef.APIVersion = "a/b/c" }, field: "spec.scaleTargetRef.apiVersion"},
		{name: "zero polling", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.PollingInterval = i32(0) }, field: "spec.pollingInterval"},
		{name: "negative cooldown", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.CooldownPeriod = i32(-1) }, field: "spec.cooldownPeriod"},
		{name: "negative initial cooldown", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.InitialCooldownPeriod = i32(-1) }, field: "spec.initialCooldownPeriod"},
		{name: "negative min", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MinReplicaCount = i32(-1) }, field: "spec.minReplicaCount"},
		{name: "zero max", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MaxReplicaCount = i32(0) }, field: "spec.maxReplicaCount"},
		{name: "min above max", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount = i32(4), i32(3) }, field: "spec.minReplicaCount"},
		{name: "min equal max", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount = i32(3), i32(3) }},
		{name: "idle equal min", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MinReplicaCount, so.Spec.IdleReplicaCount = i32(1), i32(1) }, field: "spec.idleReplicaCount"},
		{name: "idle below min", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.MinReplicaCount, so.Spec.IdleReplicaCount = i32(1), i32(0) }},
		{name: "bad hpa name", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Advanced = &v1alpha1.AdvancedConfig{HorizontalPodAutoscalerConfig: &v1alpha1.HorizontalPodAutoscalerConfig{Name: "UPPER"}}
		}, field: "spec.advanced.horizontalPodAutoscalerConfig.name"},
		{name: "no triggers", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.Triggers = nil }, field: "spec.triggers"},
		{name: "empty trigger type", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.Triggers[0].Type = "" }, field: "spec.triggers[0].type"},
		{name: "duplicate names", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Triggers = []v1alpha1.ScaleTriggers{{Type: "a", Name: "x"}, {Type: "b", Name: "y"}, {Type: "c", Name: "x"}}
		}, field: "spec.triggers[2].name"},
		{name: "utilization", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.Triggers[0].MetricType = autoscalingv2.UtilizationMetricType }, field: "spec.triggers[0].metricType"},
		{name: "unknown metric type", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.Triggers[0].MetricType = "Avg" }, field: "spec.triggers[0].metricType"},
		{name: "auth without name", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Triggers[0].AuthenticationRef = &v1alpha1.AuthenticationRef{}
		}, field: "spec.triggers[0].authenticationRef.name"},
		{name: "auth bad kind", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Triggers[0].AuthenticationRef = &v1alpha1.AuthenticationRef{Name: "a", Kind: "Secret"}
		}, field: "spec.triggers[0].authenticationRef.kind"},
		{name: "fallback zero threshold", mutate: func(so *v1alpha1.ScaledObject) { so.Spec.Fallback = &v1alpha1.Fallback{Replicas: 1} }, field: "spec.fallback.failureThreshold"},
		{name: "fallback negative replicas", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Fallback = &v1alpha1.Fallback{FailureThreshold: 1, Replicas: -1}
		}, field: "spec.fallback.replicas"},
		{name: "fallback bad behavior", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Fallback = &v1alpha1.Fallback{FailureThreshold: 1, Replicas: 1, Behavior: "x"}
		}, field: "spec.fallback.behavior"},
		{name: "fallback with Value metric", mutate: func(so *v1alpha1.ScaledObject) {
			so.Spec.Fallback = &v1alpha1.Fallback{FailureThreshold: 1, Replicas: 1}
			so.Spec.Triggers[0].MetricType = autoscalingv2.ValueMetricType
		}, field: "spec.triggers[0].metricType"},
		{name: "bad pause annotation", mutate: func(so *v1alpha1.ScaledObject) {
			so.Annotations = map[string]string{v1alpha1.AnnotationPausedKEDA: "nope"}
		}, field: "metadata.annotations[autoscaling.keda.sh/paused]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			so := validSO()
			tt.mutate(so)
			_, errs := validate(so)
			if tt.field == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) == 0 {
				t.Fatalf("no error, want one naming %s", tt.field)
			}
			if errs[0].Field != tt.field || !strings.HasPrefix(errs.Error(), tt.field+": ") {
				t.Fatalf("error %q names %q, want %q", errs.Error(), errs[0].Field, tt.field)
			}
			if errs.reason() != v1alpha1.ReasonInvalidSpec {
				t.Fatalf("reason %q", errs.reason())
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	so := validSO()
	so.Spec.PollingInterval = i32(0)
	so.Spec.MinReplicaCount, so.Spec.MaxReplicaCount = i32(9), i32(2)
	so.Spec.Triggers[0].Type = ""
	_, errs := validate(so)
	if len(errs) != 3 {
		t.Fatalf("%d errors, want 3: %v", len(errs), errs)
	}
}

// FuzzValidate feeds arbitrary JSON into a ScaledObject and validates it: no panic,
// and every error names a field of the object.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"name":"a"},"spec":{"scaleTargetRef":{"name":"t"},"triggers":[{"type":"fake"}]}}`,
		`{"spec":{"minReplicaCount":5,"maxReplicaCount":3,"idleReplicaCount":5,"triggers":[]}}`,
		`{"metadata":{"annotations":{"autoscaling.keda.sh/paused-replicas":"x","surge.dev/paused":"true"}},"spec":{}}`,
		`{"spec":{"scaleTargetRef":{"apiVersion":"///","name":""},"fallback":{"failureThreshold":-1,"replicas":-2,"behavior":"?"},"triggers":[{"type":"a","name":"n","metricType":"Value"},{"type":"b","name":"n","authenticationRef":{"kind":"X"}}]}}`,
		`{"spec":{"pollingInterval":-2147483648,"cooldownPeriod":-1,"maxReplicaCount":-2147483648,"advanced":{"horizontalPodAutoscalerConfig":{"name":"A_B"}}}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		so := &v1alpha1.ScaledObject{}
		if json.Unmarshal(data, so) != nil {
			return
		}
		_, errs := validate(so)
		for _, e := range errs {
			if !strings.HasPrefix(e.Field, "spec") && !strings.HasPrefix(e.Field, "metadata.annotations") {
				t.Fatalf("error does not name a field: %+v", e)
			}
			if e.Reason == "" || e.Msg == "" {
				t.Fatalf("error without reason or message: %+v", e)
			}
		}
	})
}
