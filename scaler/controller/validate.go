package controller

import (
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

const invalid = v1alpha1.ReasonInvalidSpec

// validate checks everything in a ScaledObject that needs no API call. The CRD
// schema rejects most of these at admission; checking again here covers objects
// created before a schema change and clusters with the CRD's validation bypassed,
// and checks what the schema cannot (cross-field rules).
func validate(so *v1alpha1.ScaledObject) (v1alpha1.Pause, specErrors) {
	var errs specErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, newSpecError(invalid, field, format, args...))
	}
	pause, err := v1alpha1.PauseFromAnnotations(so.Annotations)
	if err != nil {
		field, msg, ok := strings.Cut(err.Error(), ": ")
		if !ok {
			field, msg = "metadata.annotations", err.Error()
		}
		errs = append(errs, &specError{Reason: invalid, Field: field, Msg: msg})
	}
	s := &so.Spec
	if ref := s.ScaleTargetRef; ref == nil {
		add("spec.scaleTargetRef", "required")
	} else {
		if ref.Name == "" {
			add("spec.scaleTargetRef.name", "required")
		}
		if _, err := schema.ParseGroupVersion(ref.TargetAPIVersion()); err != nil {
			add("spec.scaleTargetRef.apiVersion", "%q is not a group/version (e.g. apps/v1)", ref.APIVersion)
		}
	}
	nonNegative := func(field string, p *int32) {
		if p != nil && *p < 0 {
			add(field, "%d must be >= 0", *p)
		}
	}
	if p := s.PollingInterval; p != nil && *p < 1 {
		add("spec.pollingInterval", "%d must be >= 1 (seconds)", *p)
	}
	nonNegative("spec.cooldownPeriod", s.CooldownPeriod)
	nonNegative("spec.initialCooldownPeriod", s.InitialCooldownPeriod)
	nonNegative("spec.minReplicaCount", s.MinReplicaCount)
	nonNegative("spec.idleReplicaCount", s.IdleReplicaCount)
	if s.MaxReplicas() < 1 {
		add("spec.maxReplicaCount", "%d must be >= 1", s.MaxReplicas())
	} else if s.MinReplicas() > s.MaxReplicas() {
		add("spec.minReplicaCount", "%d must be <= spec.maxReplicaCount (%d)", s.MinReplicas(), s.MaxReplicas())
	}
	if p := s.IdleReplicaCount; p != nil && *p >= 0 && *p >= s.MinReplicas() {
		add("spec.idleReplicaCount", "%d must be less than spec.minReplicaCount (%d)", *p, s.MinReplicas())
	}
	if a := s.Advanced; a != nil && a.HorizontalPodAutoscalerConfig != nil && a.HorizontalPodAutoscalerConfig.Name != "" {
		if msgs := validation.IsDNS1123Subdomain(a.HorizontalPodAutoscalerConfig.Name); len(msgs) > 0 {
			add("spec.advanced.horizontalPodAutoscalerConfig.name", "%q is not a valid name: %s", a.HorizontalPodAutoscalerConfig.Name, msgs[0])
		}
	}
	errs = append(errs, validateTriggers(s)...)
	errs = append(errs, validateFallback(s)...)
	return pause, errs
}

func validateTriggers(s *v1alpha1.ScaledObjectSpec) specErrors {
	var errs specErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, newSpecError(invalid, field, format, args...))
	}
	if len(s.Triggers) == 0 {
		add("spec.triggers", "at least one trigger is required")
	}
	names := map[string]int{}
	for i, t := range s.Triggers {
		f := fmt.Sprintf("spec.triggers[%d]", i)
		if t.Type == "" {
			add(f+".type", "required")
		}
		if t.Name != "" {
			if j, dup := names[t.Name]; dup {
				add(f+".name", "duplicate trigger name %q (also spec.triggers[%d])", t.Name, j)
			}
			names[t.Name] = i
		}
		switch t.MetricType {
		case "", autoscalingv2.AverageValueMetricType, autoscalingv2.ValueMetricType:
		case autoscalingv2.UtilizationMetricType:
			add(f+".metricType", "Utilization applies only to cpu/memory triggers; want AverageValue or Value")
		default:
			add(f+".metricType", "%q is not a metric type; want AverageValue or Value", t.MetricType)
		}
		if r := t.AuthenticationRef; r != nil {
			if r.Name == "" {
				add(f+".authenticationRef.name", "required")
			}
			if k := r.AuthKind(); k != v1alpha1.DefaultAuthKind && k != v1alpha1.ClusterAuthKind {
				add(f+".authenticationRef.kind", "%q is not TriggerAuthentication or ClusterTriggerAuthentication", r.Kind)
			}
		}
	}
	return errs
}

func validateFallback(s *v1alpha1.ScaledObjectSpec) specErrors {
	f := s.Fallback
	if f == nil {
		return nil
	}
	var errs specErrors
	add := func(field, format string, args ...any) {
		errs = append(errs, newSpecError(invalid, field, format, args...))
	}
	if f.FailureThreshold < 1 {
		add("spec.fallback.failureThreshold", "%d must be >= 1", f.FailureThreshold)
	}
	if f.Replicas < 0 {
		add("spec.fallback.replicas", "%d must be >= 0", f.Replicas)
	}
	switch f.Behavior {
	case "", v1alpha1.FallbackStatic, v1alpha1.FallbackCurrentReplicas,
		v1alpha1.FallbackCurrentReplicasIfHigher, v1alpha1.FallbackCurrentReplicasIfLower:
	default:
		add("spec.fallback.behavior", "%q is not static, currentReplicas, currentReplicasIfHigher or currentReplicasIfLower", f.Behavior)
	}
	for i, t := range s.Triggers {
		if t.MetricType == autoscalingv2.ValueMetricType {
			add(fmt.Sprintf("spec.triggers[%d].metricType", i), "fallback needs AverageValue triggers (the metrics API serves fallback.replicas × target); this one is Value")
		}
	}
	return errs
}
