package v1alpha1

import (
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ScaledObject scales one target (any kind with a /scale subresource) from the values
// of its triggers: surge-scaler scales 0↔N itself and owns an HPA that scales within
// [max(minReplicaCount,1), maxReplicaCount] from the external metrics it serves.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=so;sso,categories=surge
// +kubebuilder:printcolumn:name="ScaleTargetKind",type=string,JSONPath=`.status.scaleTargetKind`,priority=1
// +kubebuilder:printcolumn:name="ScaleTargetName",type=string,JSONPath=`.spec.scaleTargetRef.name`
// +kubebuilder:printcolumn:name="Min",type=integer,JSONPath=`.spec.minReplicaCount`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.maxReplicaCount`
// +kubebuilder:printcolumn:name="Triggers",type=string,JSONPath=`.spec.triggers[*].type`
// +kubebuilder:printcolumn:name="Authentication",type=string,JSONPath=`.spec.triggers[*].authenticationRef.name`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Active",type=string,JSONPath=`.status.conditions[?(@.type=="Active")].status`
// +kubebuilder:printcolumn:name="Fallback",type=string,JSONPath=`.status.conditions[?(@.type=="Fallback")].status`
// +kubebuilder:printcolumn:name="Paused",type=string,JSONPath=`.status.conditions[?(@.type=="Paused")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ScaledObject struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec is what the user asks for.
	Spec ScaledObjectSpec `json:"spec"`
	// Status is what surge-scaler observed and decided.
	// +optional
	Status ScaledObjectStatus `json:"status,omitempty"`
}

// ScaledObjectSpec is a ScaledObject's desired behaviour. Field names and defaults are
// KEDA 2.x's.
type ScaledObjectSpec struct {
	// ScaleTargetRef names the object to scale; it must have a /scale subresource.
	ScaleTargetRef *ScaleTarget `json:"scaleTargetRef"`
	// PollingInterval is the number of seconds between two measurements of each
	// trigger. Default 30.
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +optional
	PollingInterval *int32 `json:"pollingInterval,omitempty"`
	// InitialCooldownPeriod is the number of seconds after the object's creation
	// before the target may first be scaled to zero. Default 0.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +optional
	InitialCooldownPeriod *int32 `json:"initialCooldownPeriod,omitempty"`
	// CooldownPeriod is the number of seconds after the last active measurement
	// before the target is scaled to zero (or idleReplicaCount). Default 300.
	// +kubebuilder:default=300
	// +kubebuilder:validation:Minimum=0
	// +optional
	CooldownPeriod *int32 `json:"cooldownPeriod,omitempty"`
	// IdleReplicaCount is the replica count while no trigger is active, when set.
	// It must be less than minReplicaCount.
	// +kubebuilder:validation:Minimum=0
	// +optional
	IdleReplicaCount *int32 `json:"idleReplicaCount,omitempty"`
	// MinReplicaCount is the lowest replica count while active. Default 0.
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +optional
	MinReplicaCount *int32 `json:"minReplicaCount,omitempty"`
	// MaxReplicaCount is the highest replica count. Default 100.
	// +kubebuilder:default=100
	// +kubebuilder:validation:Minimum=1
	// +optional
	MaxReplicaCount *int32 `json:"maxReplicaCount,omitempty"`
	// Advanced holds the HPA settings and Surge's opt-in additions.
	// +optional
	Advanced *AdvancedConfig `json:"advanced,omitempty"`
	// Triggers are the sources measured; the target is active when any is active.
	// +kubebuilder:validation:MinItems=1
	Triggers []ScaleTriggers `json:"triggers"`
	// Fallback is the replica count to hold while triggers keep failing.
	// +optional
	Fallback *Fallback `json:"fallback,omitempty"`
}

// ScaleTarget names the scaled object. APIVersion and Kind default to apps/v1
// Deployment.
type ScaleTarget struct {
	// Name is the target's name in the ScaledObject's namespace.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// APIVersion is the target's group/version. Default apps/v1.
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Kind is the target's kind. Default Deployment.
	// +optional
	Kind string `json:"kind,omitempty"`
	// EnvSourceContainerName is the container whose environment resolves
	// "...FromEnv" metadata keys. Default: the first container.
	// +optional
	EnvSourceContainerName string `json:"envSourceContainerName,omitempty"`
}

// FallbackBehavior chooses the replica count held in fallback.
// +kubebuilder:validation:Enum=static;currentReplicas;currentReplicasIfHigher;currentReplicasIfLower
type FallbackBehavior string

// Fallback behaviours, as in KEDA.
const (
	// FallbackStatic holds fallback.replicas.
	FallbackStatic FallbackBehavior = "static"
	// FallbackCurrentReplicas holds the current replica count.
	FallbackCurrentReplicas FallbackBehavior = "currentReplicas"
	// FallbackCurrentReplicasIfHigher holds max(current, fallback.replicas).
	FallbackCurrentReplicasIfHigher FallbackBehavior = "currentReplicasIfHigher"
	// FallbackCurrentReplicasIfLower holds min(current, fallback.replicas).
	FallbackCurrentReplicasIfLower FallbackBehavior = "currentReplicasIfLower"
)

// Fallback is what to do while triggers fail: after FailureThreshold consecutive
// failed measurements of a trigger, hold Replicas (see Behavior).
type Fallback struct {
	// FailureThreshold is the number of consecutive failed measurements of a trigger
	// after which fallback applies.
	// +kubebuilder:validation:Minimum=1
	FailureThreshold int32 `json:"failureThreshold"`
	// Replicas is the replica count to hold in fallback.
	// +kubebuilder:validation:Minimum=0
	Replicas int32 `json:"replicas"`
	// Behavior chooses between Replicas and the current replica count. Default static.
	// +kubebuilder:default=static
	// +optional
	Behavior FallbackBehavior `json:"behavior,omitempty"`
}

// AdvancedConfig holds the HPA's settings and Surge's opt-in additions.
type AdvancedConfig struct {
	// HorizontalPodAutoscalerConfig customises the owned HPA.
	// +optional
	HorizontalPodAutoscalerConfig *HorizontalPodAutoscalerConfig `json:"horizontalPodAutoscalerConfig,omitempty"`
	// RestoreToOriginalReplicaCount restores the target's replica count from before
	// the ScaledObject took it over when the ScaledObject is deleted.
	// +optional
	RestoreToOriginalReplicaCount bool `json:"restoreToOriginalReplicaCount,omitempty"`
	// BurstStart (Surge addition, off by default so KEDA semantics hold): when the
	// target goes from zero (or idleReplicaCount) to active, scale straight to
	// min(maxReplicaCount, ceil(value / target)) of the most demanding active
	// AverageValue trigger instead of max(minReplicaCount, 1), so a burst does not
	// wait for the HPA's next sync and its ramp.
	// +optional
	BurstStart bool `json:"burstStart,omitempty"`
}

// HorizontalPodAutoscalerConfig customises the owned HPA.
type HorizontalPodAutoscalerConfig struct {
	// Name of the HPA. Default surge-<ScaledObject name>.
	// +optional
	Name string `json:"name,omitempty"`
	// Behavior is copied into the HPA's spec.behavior unchanged.
	// +optional
	Behavior *autoscalingv2.HorizontalPodAutoscalerBehavior `json:"behavior,omitempty"`
}

// ScaleTriggers is one trigger: a source measured every pollingInterval.
type ScaleTriggers struct {
	// Type is the trigger type (rabbitmq, kafka, prometheus, ...).
	// +kubebuilder:validation:MinLength=1
	Type string `json:"type"`
	// Name identifies the trigger within the ScaledObject; metric names derive from
	// it (or from the type and what is measured), never from the trigger's index.
	// +optional
	Name string `json:"name,omitempty"`
	// UseCachedMetrics serves the poller's latest sample to the HPA instead of
	// measuring on each metrics request.
	// +optional
	UseCachedMetrics bool `json:"useCachedMetrics,omitempty"`
	// Metadata is the trigger's configuration; keys depend on Type.
	// +optional
	Metadata map[string]string `json:"metadata,omitempty"`
	// AuthenticationRef names a TriggerAuthentication or ClusterTriggerAuthentication.
	// +optional
	AuthenticationRef *AuthenticationRef `json:"authenticationRef,omitempty"`
	// MetricType is the HPA target type: AverageValue (default) or Value.
	// Utilization is accepted by the schema for KEDA compatibility and rejected by
	// the controller (it applies only to cpu/memory triggers, which Surge lacks).
	// +kubebuilder:validation:Enum=AverageValue;Value;Utilization
	// +optional
	MetricType autoscalingv2.MetricTargetType `json:"metricType,omitempty"`
}

// AuthenticationRef names a TriggerAuthentication (in the ScaledObject's namespace)
// or a ClusterTriggerAuthentication.
type AuthenticationRef struct {
	// Name of the (Cluster)TriggerAuthentication.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Kind is TriggerAuthentication (default) or ClusterTriggerAuthentication.
	// +kubebuilder:validation:Enum=TriggerAuthentication;ClusterTriggerAuthentication
	// +optional
	Kind string `json:"kind,omitempty"`
}

// ScaledObjectStatus is what surge-scaler observed and decided. It is written only
// when something in it changes.
type ScaledObjectStatus struct {
	// ObservedGeneration is the spec generation the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// ScaleTargetKind is the target's group/version.kind, e.g. apps/v1.Deployment.
	// +optional
	ScaleTargetKind string `json:"scaleTargetKind,omitempty"`
	// ScaleTargetGVKR is the target's resolved group, version, kind and resource.
	// +optional
	ScaleTargetGVKR *GroupVersionKindResource `json:"scaleTargetGVKR,omitempty"`
	// OriginalReplicaCount is the target's replica count before the ScaledObject
	// first took it over.
	// +optional
	OriginalReplicaCount *int32 `json:"originalReplicaCount,omitempty"`
	// LastActiveTime is the last time a trigger was seen active. Refreshed at least
	// on each active→inactive edge (so cooldown survives a restart exactly) and at a
	// coarse interval while active.
	// +optional
	LastActiveTime *metav1.Time `json:"lastActiveTime,omitempty"`
	// ExternalMetricNames are the External metrics of the owned HPA, in trigger order.
	// +optional
	ExternalMetricNames []string `json:"externalMetricNames,omitempty"`
	// HPAName is the owned HPA's name.
	// +optional
	HPAName string `json:"hpaName,omitempty"`
	// PausedReplicaCount is the replica count held while paused, if any.
	// +optional
	PausedReplicaCount *int32 `json:"pausedReplicaCount,omitempty"`
	// Conditions: Ready, Active, Fallback, Paused.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// GroupVersionKindResource is a resolved scale target type.
type GroupVersionKindResource struct {
	// Group is the API group ("" for the core group).
	Group string `json:"group"`
	// Version is the API version.
	Version string `json:"version"`
	// Kind is the target's kind.
	Kind string `json:"kind"`
	// Resource is the plural resource name.
	Resource string `json:"resource"`
}

// ScaledObjectList is a list of ScaledObjects.
//
// +kubebuilder:object:root=true
type ScaledObjectList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ScaledObjects.
	Items []ScaledObject `json:"items"`
}
