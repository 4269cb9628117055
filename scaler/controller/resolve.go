package controller

import (
	"context"
	"fmt"
	"maps"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
)

// objectRef names a Secret or ConfigMap a ScaledObject depends on.
type objectRef struct {
	Kind string // "Secret" or "ConfigMap"
	types.NamespacedName
}

// resolver resolves one ScaledObject's references during one reconcile: the target's
// pod template (for env), (Cluster)TriggerAuthentications, Secrets and ConfigMaps. It
// records every Secret and ConfigMap it read so changes to them requeue the object.
type resolver struct {
	r      *Reconciler
	so     *v1alpha1.ScaledObject
	target Target
	pod    *corev1.PodSpec
	podErr error
	podSet bool
	refs   map[objectRef]bool
}

// podSpec returns the target's pod template spec, or nil if its kind has none.
func (rs *resolver) podSpec(ctx context.Context) (*corev1.PodSpec, error) {
	if rs.podSet {
		return rs.pod, rs.podErr
	}
	rs.podSet = true
	key := types.NamespacedName{Namespace: rs.target.Namespace, Name: rs.target.Name}
	switch {
	case cachedKind(rs.target) && rs.target.GVK.Kind == deploymentGK.Kind:
		var d appsv1.Deployment
		if rs.podErr = rs.r.client.Get(ctx, key, &d); rs.podErr == nil {
			rs.pod = &d.Spec.Template.Spec
		}
	case cachedKind(rs.target):
		var s appsv1.StatefulSet
		if rs.podErr = rs.r.client.Get(ctx, key, &s); rs.podErr == nil {
			rs.pod = &s.Spec.Template.Spec
		}
	default:
		u := &unstructured.Unstructured{}
		u.SetGroupVersionKind(rs.target.GVK)
		if rs.podErr = rs.r.reader.Get(ctx, key, u); rs.podErr != nil {
			break
		}
		m, found, _ := unstructured.NestedMap(u.Object, "spec", "template", "spec")
		if found {
			var ps corev1.PodSpec
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ps); err == nil {
				rs.pod = &ps
			}
		}
	}
	return rs.pod, rs.podErr
}

// env resolves the environment of container name (default: envSourceContainerName,
// else the first container): envFrom, then env values and Secret/ConfigMap keys, as
// the kubelet would (no $(VAR) expansion, no downward API besides the namespace).
func (rs *resolver) env(ctx context.Context, name string) (map[string]string, error) {
	const field = "spec.scaleTargetRef.envSourceContainerName"
	if name == "" {
		name = rs.so.Spec.ScaleTargetRef.EnvSourceContainerName
	}
	ps, err := rs.podSpec(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the target's pod template: %w", err)
	}
	if ps == nil || len(ps.Containers) == 0 {
		return nil, newSpecError(v1alpha1.ReasonTriggerConfig, field, "%s has no pod template to read the environment from", rs.target)
	}
	c := &ps.Containers[0]
	if name != "" {
		c = nil
		for i := range ps.Containers {
			if ps.Containers[i].Name == name {
				c = &ps.Containers[i]
			}
		}
		if c == nil {
			return nil, newSpecError(v1alpha1.ReasonTriggerConfig, field, "container %q not found in %s", name, rs.target)
		}
	}
	out := map[string]string{}
	ns := rs.target.Namespace
	for _, ef := range c.EnvFrom {
		var data map[string]string
		var err error
		switch {
		case ef.SecretRef != nil:
			data, err = rs.secret(ctx, ns, ef.SecretRef.Name, fmt.Sprintf("container %q envFrom", c.Name))
			if err != nil && optional(ef.SecretRef.Optional) && notFound(err) {
				continue
			}
		case ef.ConfigMapRef != nil:
			data, err = rs.configMap(ctx, ns, ef.ConfigMapRef.Name, fmt.Sprintf("container %q envFrom", c.Name))
			if err != nil && optional(ef.ConfigMapRef.Optional) && notFound(err) {
				continue
			}
		}
		if err != nil {
			return nil, withField(err, "spec.scaleTargetRef")
		}
		for k, v := range data {
			out[ef.Prefix+k] = v
		}
	}
	for _, e := range c.Env {
		v, ok, err := rs.envValue(ctx, c.Name, e)
		if err != nil {
			return nil, withField(err, "spec.scaleTargetRef")
		}
		if ok {
			out[e.Name] = v
		}
	}
	return out, nil
}

func (rs *resolver) envValue(ctx context.Context, container string, e corev1.EnvVar) (string, bool, error) {
	vf := e.ValueFrom
	if vf == nil {
		return e.Value, true, nil
	}
	what := fmt.Sprintf("container %q env %s", container, e.Name)
	ns := rs.target.Namespace
	switch {
	case vf.SecretKeyRef != nil:
		data, err := rs.secret(ctx, ns, vf.SecretKeyRef.Name, what)
		if err != nil {
			if optional(vf.SecretKeyRef.Optional) && notFound(err) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := data[vf.SecretKeyRef.Key]
		if !ok && !optional(vf.SecretKeyRef.Optional) {
			return "", false, newSpecError(v1alpha1.ReasonAuthNotFound, "spec.scaleTargetRef", "%s: key %q not in Secret %q", what, vf.SecretKeyRef.Key, vf.SecretKeyRef.Name)
		}
		return v, ok, nil
	case vf.ConfigMapKeyRef != nil:
		data, err := rs.configMap(ctx, ns, vf.ConfigMapKeyRef.Name, what)
		if err != nil {
			if optional(vf.ConfigMapKeyRef.Optional) && notFound(err) {
				return "", false, nil
			}
			return "", false, err
		}
		v, ok := data[vf.ConfigMapKeyRef.Key]
		if !ok && !optional(vf.ConfigMapKeyRef.Optional) {
			return "", false, newSpecError(v1alpha1.ReasonAuthNotFound, "spec.scaleTargetRef", "%s: key %q not in ConfigMap %q", what, vf.ConfigMapKeyRef.Key, vf.ConfigMapKeyRef.Name)
		}
		return v, ok, nil
	case vf.FieldRef != nil && vf.FieldRef.FieldPath == "metadata.namespace":
		return ns, true, nil
	}
	return "", false, nil // other downward API fields have no value outside a pod
}

func optional(p *bool) bool { return p != nil && *p }

// notFound reports whether err is a missing Secret or ConfigMap.
func notFound(err error) bool {
	se, ok := err.(*specError)
	return ok && se.Reason == v1alpha1.ReasonAuthNotFound
}

// auth resolves trigger i's authenticationRef into parameters.
func (rs *resolver) auth(ctx context.Context, i int, ref *v1alpha1.AuthenticationRef) (map[string]string, error) {
	field := fmt.Sprintf("spec.triggers[%d].authenticationRef", i)
	kind := ref.AuthKind()
	spec, ns, err := rs.authSpec(ctx, ref, field)
	if err != nil {
		return nil, err
	}
	params := map[string]string{}
	for j, s := range spec.SecretTargetRef {
		what := fmt.Sprintf("%s %q spec.secretTargetRef[%d]", kind, ref.Name, j)
		data, err := rs.secret(ctx, ns, s.Name, what)
		if err != nil {
			return nil, withField(err, field)
		}
		v, ok := data[s.Key]
		if !ok {
			return nil, newSpecError(v1alpha1.ReasonAuthNotFound, field, "%s: key %q not in Secret %s/%s", what, s.Key, ns, s.Name)
		}
		params[s.Parameter] = v
	}
	for j, c := range spec.ConfigMapTargetRef {
		what := fmt.Sprintf("%s %q spec.configMapTargetRef[%d]", kind, ref.Name, j)
		data, err := rs.configMap(ctx, ns, c.Name, what)
		if err != nil {
			return nil, withField(err, field)
		}
		v, ok := data[c.Key]
		if !ok {
			return nil, newSpecError(v1alpha1.ReasonAuthNotFound, field, "%s: key %q not in ConfigMap %s/%s", what, c.Key, ns, c.Name)
		}
		params[c.Parameter] = v
	}
	for j, e := range spec.Env {
		env, err := rs.env(ctx, e.ContainerName)
		if err != nil {
			return nil, err
		}
		v, ok := env[e.Name]
		if !ok {
			return nil, newSpecError(v1alpha1.ReasonAuthNotFound, field, "%s %q spec.env[%d]: variable %q not set in the target's container", kind, ref.Name, j, e.Name)
		}
		params[e.Parameter] = v
	}
	return params, nil
}

// authSpec reads the (Cluster)TriggerAuthentication ref names and returns its spec
// and the namespace its Secrets and ConfigMaps live in; podIdentity other than none
// is a spec error.
func (rs *resolver) authSpec(ctx context.Context, ref *v1alpha1.AuthenticationRef, field string) (v1alpha1.TriggerAuthenticationSpec, string, error) {
	kind := ref.AuthKind()
	ns := rs.so.Namespace
	var spec v1alpha1.TriggerAuthenticationSpec
	var err error
	if kind == v1alpha1.ClusterAuthKind {
		var cta v1alpha1.ClusterTriggerAuthentication
		err = rs.r.client.Get(ctx, types.NamespacedName{Name: ref.Name}, &cta)
		spec, ns = cta.Spec, rs.r.opts.ClusterObjectNamespace
	} else {
		var ta v1alpha1.TriggerAuthentication
		err = rs.r.client.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, &ta)
		spec = ta.Spec
	}
	if apierrors.IsNotFound(err) {
		return spec, ns, newSpecError(v1alpha1.ReasonAuthNotFound, field, "%s %q not found", kind, ref.Name)
	}
	if err != nil {
		return spec, ns, fmt.Errorf("get %s %q: %w", kind, ref.Name, err)
	}
	if p := spec.PodIdentity; p != nil && p.Provider != "" && p.Provider != "none" {
		return spec, ns, newSpecError(v1alpha1.ReasonTriggerConfig, field, "%s %q: spec.podIdentity.provider %q is not supported (want none)", kind, ref.Name, p.Provider)
	}
	return spec, ns, nil
}

func withField(err error, field string) error {
	if se, ok := err.(*specError); ok {
		return &specError{Reason: se.Reason, Field: field, Msg: se.Msg}
	}
	return err
}

func (rs *resolver) secret(ctx context.Context, ns, name, what string) (map[string]string, error) {
	ref := objectRef{Kind: "Secret", NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	rs.refs[ref] = true
	return rs.r.data.get(ctx, rs.r, ref, what)
}

func (rs *resolver) configMap(ctx context.Context, ns, name, what string) (map[string]string, error) {
	ref := objectRef{Kind: "ConfigMap", NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
	rs.refs[ref] = true
	return rs.r.data.get(ctx, rs.r, ref, what)
}

// dataCache holds the data of referenced Secrets and ConfigMaps by resourceVersion:
// the metadata informer says whether it changed, and only then is the object read
// from the API (Secrets are never held by an informer). Values never reach logs,
// events or errors.
type dataCache struct {
	mu      sync.Mutex
	entries map[objectRef]dataEntry
}

type dataEntry struct {
	rv   string
	data map[string]string
}

func (c *dataCache) get(ctx context.Context, r *Reconciler, ref objectRef, what string) (map[string]string, error) {
	pm := &metav1.PartialObjectMetadata{}
	pm.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind(ref.Kind))
	err := r.client.Get(ctx, ref.NamespacedName, pm)
	if apierrors.IsNotFound(err) {
		return nil, newSpecError(v1alpha1.ReasonAuthNotFound, "spec", "%s: %s %s/%s not found", what, ref.Kind, ref.Namespace, ref.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s %s/%s metadata: %w", ref.Kind, ref.Namespace, ref.Name, err)
	}
	c.mu.Lock()
	e, ok := c.entries[ref]
	c.mu.Unlock()
	if ok && e.rv == pm.ResourceVersion {
		return e.data, nil
	}
	data := map[string]string{}
	switch ref.Kind {
	case "Secret":
		var s corev1.Secret
		if err := r.reader.Get(ctx, ref.NamespacedName, &s); err != nil {
			return nil, fmt.Errorf("get Secret %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		for k, v := range s.Data {
			data[k] = string(v)
		}
		maps.Copy(data, s.StringData)
		pm.ResourceVersion = s.ResourceVersion
	default:
		var cm corev1.ConfigMap
		if err := r.reader.Get(ctx, ref.NamespacedName, &cm); err != nil {
			return nil, fmt.Errorf("get ConfigMap %s/%s: %w", ref.Namespace, ref.Name, err)
		}
		maps.Copy(data, cm.Data)
		for k, v := range cm.BinaryData {
			data[k] = string(v)
		}
		pm.ResourceVersion = cm.ResourceVersion
	}
	c.mu.Lock()
	if c.entries == nil {
		c.entries = map[objectRef]dataEntry{}
	}
	c.entries[ref] = dataEntry{rv: pm.ResourceVersion, data: data}
	c.mu.Unlock()
	return data, nil
}

func (c *dataCache) drop(ref objectRef) {
	c.mu.Lock()
	delete(c.entries, ref)
	c.mu.Unlock()
}
