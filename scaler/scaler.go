// Package scaler holds the contract between surge-scaler's controller and its
// trigger sources. A trigger package (scaler/rabbitmq, scaler/kafka, ...) turns a
// decoded, validated TriggerSpec into a Trigger whose Scaler measures one number.
// Trigger packages know nothing of Kubernetes objects, activation or caching: the
// controller decides activation centrally and the sample store owns every Scaler.
package scaler

import "context"

// Scaler measures one trigger's current value (queue depth, consumer lag, a query
// result). Measure must honour ctx's deadline and must be safe to call from one
// goroutine at a time; it never caches. Close releases what the Scaler holds (a
// shared connection's reference, not necessarily the connection).
type Scaler interface {
	Measure(ctx context.Context) (float64, error)
	Close() error
}

// TriggerSpec is one entry of a ScaledObject's spec.triggers after the controller has
// resolved everything that needs the Kubernetes API: authentication parameters from
// (Cluster)TriggerAuthentication (Secrets, ConfigMaps, env) and the environment of the
// scale target's container for "...FromEnv" keys. No Kubernetes types cross here.
type TriggerSpec struct {
	// Type is the trigger type as written by the user (e.g. "rabbitmq").
	Type string
	// Name is the trigger's name if the user gave one, else "".
	Name string
	// Namespace is the ScaledObject's namespace (Prometheus uses it).
	Namespace string
	// Metadata is the trigger's metadata map as written. The caller must not modify
	// it after the call; builders must not modify it at all.
	Metadata map[string]string
	// AuthParams are the TriggerAuthentication parameters by parameter name.
	AuthParams map[string]string
	// Env is the resolved environment of the scale target's container.
	Env map[string]string
	// MetricType is the HPA metric target type: "AverageValue" (default) or "Value".
	MetricType string
}

// Trigger is a built trigger: its Scaler and the numbers the controller needs to
// build the HPA metric and decide activation.
type Trigger struct {
	Scaler Scaler
	// Target is the HPA metric target (per replica for AverageValue).
	Target float64
	// Activation is the activation threshold: the trigger is active when the
	// measured value is strictly greater than Activation.
	Activation float64
	// MetricHint is a short, DNS-label-safe description of what is measured (e.g.
	// "rabbitmq-orders"); the controller uses it in stable metric names.
	MetricHint string
	// Warnings are non-fatal findings (e.g. a deprecated key that was mapped).
	Warnings []string
}

// Builder builds Triggers from specs. Build decodes and validates the spec and
// returns an error naming the trigger, the key, the bad value and what is allowed.
type Builder interface {
	Build(ctx context.Context, spec TriggerSpec) (*Trigger, error)
}
