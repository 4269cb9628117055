package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler"
	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/hpa"
	"github.com/surge-autoscaler/surge/scaler/store"
)

// buildTriggers resolves and builds every trigger. A trigger whose resolved spec
// hashes as before keeps its registered Scaler (nil Trigger in its Metric). On any
// error, triggers built in this call are closed.
func (r *Reconciler) buildTriggers(ctx context.Context, so *v1alpha1.ScaledObject, st *objState, rs *resolver) ([]store.Metric, []triggerInfo, error) {
	var (
		metrics []store.Metric
		infos   []triggerInfo
		errs    specErrors
		seen    = map[string]int{}
	)
	fail := func(err error) ([]store.Metric, []triggerInfo, error) {
		closeNew(metrics)
		return nil, nil, err
	}
	interval := so.Spec.PollingIntervalDuration()
	for i, t := range so.Spec.Triggers {
		field := fmt.Sprintf("spec.triggers[%d]", i)
		spec := scaler.TriggerSpec{Type: t.Type, Name: t.Name, Namespace: so.Namespace, Metadata: t.Metadata,
			MetricType: string(metricType(t.MetricType))}
		if t.AuthenticationRef != nil {
			p, err := rs.auth(ctx, i, t.AuthenticationRef)
			if err != nil {
				if !isSpecError(err) {
					return fail(err)
				}
				errs = append(errs, asSpecErrors(err)...)
				continue
			}
			spec.AuthParams = p
		}
		if needsEnv(t.Metadata) {
			env, err := rs.env(ctx, "")
			if err != nil {
				if !isSpecError(err) {
					return fail(err)
				}
				errs = append(errs, asSpecErrors(err)...)
				continue
			}
			spec.Env = env
		}
		h := hashSpec(spec)
		st.mu.Lock()
		info, known := st.built[h]
		st.mu.Unlock()
		var trig *scaler.Trigger
		if !known || !r.store.Has(metricsapi.MetricKey{Namespace: so.Namespace, Name: info.metric}, h) {
			var err error
			trig, err = r.opts.Builder.Build(ctx, spec)
			if err != nil {
				errs = append(errs, newSpecError(v1alpha1.ReasonTriggerConfig, buildErrorField(field, t.Type, err), "%s", err.Error()))
				continue
			}
			info = triggerInfo{ident: hpa.TriggerIdent(t.Name, t.Type, trig.MetricHint), typ: t.Type,
				target: trig.Target, activation: trig.Activation, metricType: metricType(t.MetricType), hash: h}
			info.metric = hpa.MetricName(so.Namespace, so.Name, info.ident)
			for _, w := range trig.Warnings {
				r.event(so, corev1.EventTypeWarning, "DeprecatedMetadata", "Validate", "%s: %s", field, w)
			}
			if err := hpa.CheckTarget(trig.Target); err != nil {
				closeScaler(trig)
				errs = append(errs, newSpecError(v1alpha1.ReasonTriggerConfig, field+".metadata", "%s", err.Error()))
				continue
			}
		}
		if j, dup := seen[info.metric]; dup {
			closeScaler(trig)
			errs = append(errs, newSpecError(invalid, field+".name", "measures the same as spec.triggers[%d] (%q); give the triggers distinct names", j, info.ident))
			continue
		}
		seen[info.metric] = i
		if info.activeG == nil {
			info.activeG = r.m.active.WithLabelValues(so.Namespace, so.Name, info.ident, info.metric)
		}
		m := store.Metric{Key: metricsapi.MetricKey{Namespace: so.Namespace, Name: info.metric}, Hash: h, Trigger: trig,
			TriggerName: info.ident, TriggerType: t.Type, Labels: hpa.Labels(so.Name), PollingInterval: interval,
			UseCachedMetrics: t.UseCachedMetrics}
		if f := so.Spec.Fallback; f != nil {
			m.Fallback = &metricsapi.Fallback{FailureThreshold: f.FailureThreshold, Replicas: f.Replicas, Target: info.target}
		}
		metrics = append(metrics, m)
		infos = append(infos, info)
	}
	if len(errs) > 0 {
		return fail(errs)
	}
	st.mu.Lock()
	st.built = map[string]triggerInfo{}
	for _, in := range infos {
		st.built[in.hash] = in
	}
	st.mu.Unlock()
	return metrics, infos, nil
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

func metricType(t autoscalingv2.MetricTargetType) autoscalingv2.MetricTargetType {
	if t == "" {
		return autoscalingv2.AverageValueMetricType
	}
	return t
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

// hashSpec identifies a resolved trigger spec. It covers secret values, so it is
// never logged (a sha256 prefix reveals nothing usable).
func hashSpec(s scaler.TriggerSpec) string {
	b, _ := json.Marshal(s) // maps of strings always marshal, with sorted keys
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}

func isSpecError(err error) bool {
	var se *specError
	var ses specErrors
	return errors.As(err, &se) || errors.As(err, &ses)
}

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

// closeNew closes the Scalers built in this reconcile (not yet owned by the store).
func closeNew(ms []store.Metric) {
	for _, m := range ms {
		closeScaler(m.Trigger)
	}
}

func closeScaler(t *scaler.Trigger) {
	if t != nil && t.Scaler != nil {
		_ = t.Scaler.Close()
	}
}
