package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Source measures one trigger's current value (queue depth, consumer lag, a query
// result). Measure must honour ctx's deadline and must be safe to call from one
// goroutine at a time; it never caches. Close releases what the Source holds (a
// shared connection's reference, not necessarily the connection). The sample store
// owns every Source and is the only caller of Measure.
type Source interface {
	Measure(ctx context.Context) (float64, error)
	Close() error
}

// Spec is one entry of a ScaledObject's spec.triggers after the controller has
// resolved everything that needs the Kubernetes API: authentication parameters from
// (Cluster)TriggerAuthentication (Secrets, ConfigMaps, env) and the environment of the
// scale target's container for "...FromEnv" keys. No Kubernetes types cross here.
type Spec struct {
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

// Hash identifies the resolved spec: two specs with the same Hash build the same
// trigger. It covers secret values, so it is never logged (a sha256 prefix reveals
// nothing usable).
func (s Spec) Hash() string {
	b, _ := json.Marshal(s) // maps of strings always marshal, with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

// Built is what a Builder returns: the trigger's Source and Rule.
type Built struct {
	// Source measures the trigger. Whoever receives a Built owns it and must Close it.
	Source Source
	// Rule holds the trigger's target and activation threshold. Builders set Target
	// and Activation; the registry sets Type from the spec's MetricType.
	Rule Rule
	// MetricHint is a short, DNS-label-safe description of what is measured (e.g.
	// "rabbitmq-orders"); the controller uses it in stable metric names.
	MetricHint string
	// Warnings are non-fatal findings (e.g. a deprecated key that was mapped).
	Warnings []string
}

// Close closes b's Source, if any. It is safe on a nil Built.
func (b *Built) Close() {
	if b != nil && b.Source != nil {
		_ = b.Source.Close() // nothing to do about a failed close; the Source logs its own
	}
}

// Builder builds triggers from specs. Build decodes and validates the spec and
// returns an error naming the trigger, the key, the bad value and what is allowed.
type Builder interface {
	Build(ctx context.Context, spec Spec) (*Built, error)
}
