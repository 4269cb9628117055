package v1alpha1

// Condition types of a ScaledObject.
const (
	// ConditionReady is True when the spec is valid, every reference resolved, the
	// HPA is in place and the triggers measure without error.
	ConditionReady = "Ready"
	// ConditionActive is True while a trigger is active or the cooldown runs.
	ConditionActive = "Active"
	// ConditionFallback is True while fallback replicas are held.
	ConditionFallback = "Fallback"
	// ConditionPaused is True while the pause annotations hold scaling.
	ConditionPaused = "Paused"
)

// Condition reasons.
const (
	// ReasonReconciling: the ScaledObject is being set up.
	ReasonReconciling = "Reconciling"
	// ReasonReady: the ScaledObject is ready.
	ReasonReady = "ScaledObjectReady"
	// ReasonInvalidSpec: the spec (or an annotation) is invalid; the message names
	// the field.
	ReasonInvalidSpec = "InvalidSpec"
	// ReasonTriggerConfig: a trigger's metadata or authentication did not decode.
	ReasonTriggerConfig = "TriggerConfigError"
	// ReasonAuthNotFound: a referenced (Cluster)TriggerAuthentication, Secret or
	// ConfigMap (or one of its keys) is missing.
	ReasonAuthNotFound = "AuthenticationNotFound"
	// ReasonTargetNotFound: the scale target does not exist.
	ReasonTargetNotFound = "ScaleTargetNotFound"
	// ReasonTargetNotScalable: the scale target's kind has no /scale subresource.
	ReasonTargetNotScalable = "ScaleTargetNotScalable"
	// ReasonTargetClaimed: another ScaledObject or a foreign HPA scales the target.
	ReasonTargetClaimed = "ScaleTargetAlreadyScaled"
	// ReasonHPAConflict: an HPA with the wanted name exists and is not ours.
	ReasonHPAConflict = "HPAConflict"
	// ReasonTriggerError: every trigger fails and no fallback applies.
	ReasonTriggerError = "TriggerError"
	// ReasonPartialTriggerError: some triggers fail.
	ReasonPartialTriggerError = "PartialTriggerError"

	// ReasonActive: a trigger is active.
	ReasonActive = "ScalerActive"
	// ReasonCooldown: no trigger is active; the cooldown runs.
	ReasonCooldown = "ScalerCooldown"
	// ReasonNotActive: no trigger is active.
	ReasonNotActive = "ScalerNotActive"
	// ReasonUnknown: no measurement yet.
	ReasonUnknown = "NoMeasurementYet"

	// ReasonFallbackActive: fallback replicas are held.
	ReasonFallbackActive = "FallbackActive"
	// ReasonNoFallback: fallback does not apply.
	ReasonNoFallback = "NoFallbackFound"

	// ReasonPaused: the pause annotations hold scaling.
	ReasonPaused = "ScaledObjectPaused"
	// ReasonUnpaused: scaling is not paused.
	ReasonUnpaused = "ScaledObjectUnpaused"
)
