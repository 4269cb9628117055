package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/hpa"
	"github.com/surge-autoscaler/surge/scaler/store"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// buildTriggers resolves and builds every trigger into its store registration. A
// trigger whose resolved spec hashes as before keeps its registered Source (the
// Registration carries no Source). On any error, Sources built in this call are
// closed; spec errors of all triggers are returned together.
func (r *Reconciler) buildTriggers(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, rs *resolver) ([]store.Registration, error) {
	var (
		regs []store.Registration
		errs specErrors
		seen = map[string]int{}
	)
	for i, t := range so.Spec.Triggers {
		field := fmt.Sprintf("spec.triggers[%d]", i)
		spec, err := r.resolveSpec(ctx, so, i, t, rs)
		if err == nil {
			var reg store.Registration
			if reg, err = r.register(ctx, so, st, field, t, spec); err == nil {
				if j, dup := seen[reg.Key.Name]; dup {
					closeSource(reg.Source)
					err = newSpecError(invalid, field+".name", "measures the same as spec.triggers[%d] (%q); give the triggers distinct names", j, reg.Ident)
				} else {
					seen[reg.Key.Name] = i
					regs = append(regs, reg)
				}
			}
		}
		if err != nil && !isSpecError(err) {
			closeNew(regs)
			return nil, err
		}
		errs = append(errs, asSpecErrors(err)...)
	}
	if len(errs) > 0 {
		closeNew(regs)
		return nil, errs
	}
	st.remember(regs, r.m)
	return regs, nil
}

// resolveSpec resolves spec.triggers[i]'s authentication and, when its metadata
// reads the target's environment, that environment.
func (r *Reconciler) resolveSpec(ctx context.Context, so *v1alpha1.ScaledObject, i int, t v1alpha1.ScaleTriggers, rs *resolver) (trigger.Spec, error) {
	spec := trigger.Spec{Type: t.Type, Name: t.Name, Namespace: so.Namespace, Metadata: t.Metadata,
		MetricType: string(trigger.MetricType(string(t.MetricType)))}
	if t.AuthenticationRef != nil {
		p, err := rs.auth(ctx, i, t.AuthenticationRef)
		if err != nil {
			return spec, err
		}
		spec.AuthParams = p
	}
	if needsEnv(t.Metadata) {
		env, err := rs.env(ctx, "")
		if err != nil {
			return spec, err
		}
		spec.Env = env
	}
	return spec, nil
}

// register returns the trigger's Registration: the Metric registered before when its
// spec is unchanged and still held by the store, else a newly built trigger.
func (r *Reconciler) register(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, field string, t v1alpha1.ScaleTriggers, spec trigger.Spec) (store.Registration, error) {
	h := spec.Hash()
	st.mu.Lock()
	m, known := st.built[h]
	st.mu.Unlock()
	if known && r.store.Has(m.Key, h) {
		return store.Registration{Metric: serving(so, t, m)}, nil
	}
	b, err := r.opts.Builder.Build(ctx, spec)
	if err != nil {
		return store.Registration{}, newSpecError(v1alpha1.ReasonTriggerConfig, buildErrorField(field, t.Type, err), "%s", err.Error())
	}
	for _, w := range b.Warnings {
		r.event(so, corev1.EventTypeWarning, "DeprecatedMetadata", "Validate", "%s: %s", field, w)
	}
	if err := hpa.CheckTarget(b.Rule.Target); err != nil {
		b.Close()
		return store.Registration{}, newSpecError(v1alpha1.ReasonTriggerConfig, field+".metadata", "%s", err.Error())
	}
	ident := hpa.TriggerIdent(t.Name, t.Type, b.MetricHint)
	m = trigger.Metric{Key: trigger.Key{Namespace: so.Namespace, Name: hpa.MetricName(so.Namespace, so.Name, ident)},
		Ident: ident, Type: t.Type, SpecHash: h, Rule: b.Rule}
	return store.Registration{Metric: serving(so, t, m), Source: b.Source}, nil
}

// serving sets how m's samples are served from the object's current spec: labels,
// polling interval, fallback and useCachedMetrics (none of them is in the hash).
func serving(so *v1alpha1.ScaledObject, t v1alpha1.ScaleTriggers, m trigger.Metric) trigger.Metric {
	m.Labels = hpa.Labels(so.Name)
	m.PollingInterval = so.Spec.PollingIntervalDuration()
	m.UseCachedMetrics = t.UseCachedMetrics
	m.Fallback = fallback(so)
	return m
}

// fallback is so's spec.fallback in the trigger model; nil when unset.
func fallback(so *v1alpha1.ScaledObject) *trigger.Fallback {
	f := so.Spec.Fallback
	if f == nil {
		return nil
	}
	return &trigger.Fallback{FailureThreshold: f.FailureThreshold, Replicas: f.Replicas, Behavior: f.Behavior}
}

// buildErrorField names the field a Build error is about: the trigger's type when
// the registry does not know it, else its metadata.
func buildErrorField(field, typ string, err error) string {
	var fe *decode.FieldError
	if errors.As(err, &fe) && fe.Key == "type" && fe.Value == typ {
		return field + ".type"
	}
	return field + ".metadata"
}

// needsEnv reports whether any metadata key reads the target's environment.
func needsEnv(md map[string]string) bool {
	for k := range md {
		if strings.HasSuffix(k, "FromEnv") {
			return true
		}
	}
	return false
}

func isSpecError(err error) bool {
	var se *specError
	var ses specErrors
	return errors.As(err, &se) || errors.As(err, &ses)
}

// asSpecErrors returns err's spec errors; none for nil or another error.
func asSpecErrors(err error) specErrors {
	var ses specErrors
	if errors.As(err, &ses) {
		return ses
	}
	var se *specError
	if errors.As(err, &se) {
		return specErrors{se}
	}
	return nil
}

// closeNew closes the Sources built in this reconcile (not yet owned by the store).
func closeNew(regs []store.Registration) {
	for _, r := range regs {
		closeSource(r.Source)
	}
}

func closeSource(src trigger.Source) {
	if src != nil {
		_ = src.Close() // nothing to do about a failed close; the Source logs its own
	}
}
