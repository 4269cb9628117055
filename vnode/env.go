package vnode

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/surge-autoscaler/surge/providers"
)

// ObjectGetter reads the Secrets and ConfigMaps a pod refers to. The handler's
// implementation GETs them from the API server one by one (the node authorizer
// lets a node read exactly the objects its pods use), so surge-vnode never
// caches every Secret of the cluster.
type ObjectGetter interface {
	Secret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	ConfigMap(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
}

// FieldValues are the runtime values the downward API may ask for.
type FieldValues struct {
	HostIP string
	// PodIP is the pod's address if known before it starts (the local backend's
	// is the node's); empty otherwise.
	PodIP string
	// Allocatable stands in for unset limits in resourceFieldRef, as the kubelet
	// uses the node's allocatable.
	Allocatable corev1.ResourceList
}

// ConfigError says a pod refers to a Secret, ConfigMap or key that does not
// exist (and is not optional) or cannot be read. Retrying may help once the
// object exists.
type ConfigError struct {
	Container string
	Err       error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("container %q: %v", e.Container, e.Err)
}

// Unwrap returns the cause.
func (e *ConfigError) Unwrap() error { return e.Err }

// ResolveEnv computes every container's environment as the kubelet does: envFrom
// sources first (in order, keys sorted, prefix applied, invalid names skipped),
// then env entries in order, each value with $(VAR) references expanded against
// the variables defined before it. Values from Secrets are marked Secret. The
// result maps container name to its variables, one entry per name, in first
// definition order. Service links (FOO_SERVICE_HOST, ...) are not injected: burst
// instances do not run on the cluster network.
func ResolveEnv(ctx context.Context, pod *corev1.Pod, get ObjectGetter, fv FieldValues) (map[string][]providers.EnvVar, error) {
	out := make(map[string][]providers.EnvVar, len(pod.Spec.Containers))
	memo := &memoGetter{get: get, secrets: map[string]*corev1.Secret{}, cms: map[string]*corev1.ConfigMap{}}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		env, err := containerEnv(ctx, pod, c, memo, fv)
		if err != nil {
			return nil, &ConfigError{Container: c.Name, Err: err}
		}
		out[c.Name] = env
	}
	return out, nil
}

// envList is an ordered set of variables: redefining a name replaces its value
// in place.
type envList struct {
	vars  []providers.EnvVar
	index map[string]int
}

func (l *envList) set(name, value string, secret bool) {
	if i, ok := l.index[name]; ok {
		l.vars[i] = providers.EnvVar{Name: name, Value: value, Secret: secret}
		return
	}
	l.index[name] = len(l.vars)
	l.vars = append(l.vars, providers.EnvVar{Name: name, Value: value, Secret: secret})
}

func (l *envList) lookup(name string) (string, bool) {
	if i, ok := l.index[name]; ok {
		return l.vars[i].Value, true
	}
	return "", false
}

func containerEnv(ctx context.Context, pod *corev1.Pod, c *corev1.Container, get *memoGetter, fv FieldValues) ([]providers.EnvVar, error) {
	l := &envList{index: map[string]int{}}
	for _, src := range c.EnvFrom {
		if err := envFrom(ctx, pod.Namespace, src, get, l); err != nil {
			return nil, err
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			l.set(e.Name, Expand(e.Value, l.lookup), false)
			continue
		}
		v, secret, found, err := valueFrom(ctx, pod, c, e.ValueFrom, get, fv)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if found {
			l.set(e.Name, v, secret)
		}
	}
	return l.vars, nil
}

func envFrom(ctx context.Context, ns string, src corev1.EnvFromSource, get *memoGetter, l *envList) error {
	var data map[string]string
	secret := false
	switch {
	case src.ConfigMapRef != nil:
		cm, err := get.ConfigMap(ctx, ns, src.ConfigMapRef.Name)
		if apierrors.IsNotFound(err) && src.ConfigMapRef.Optional != nil && *src.ConfigMapRef.Optional {
			return nil
		}
		if err != nil {
			return fmt.Errorf("envFrom configMap %q: %w", src.ConfigMapRef.Name, err)
		}
		data = cm.Data
	case src.SecretRef != nil:
		s, err := get.Secret(ctx, ns, src.SecretRef.Name)
		if apierrors.IsNotFound(err) && src.SecretRef.Optional != nil && *src.SecretRef.Optional {
			return nil
		}
		if err != nil {
			return fmt.Errorf("envFrom secret %q: %w", src.SecretRef.Name, err)
		}
		data = make(map[string]string, len(s.Data))
		for k, v := range s.Data {
			data[k] = string(v)
		}
		secret = true
	default:
		return nil
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if name := src.Prefix + k; validEnvName(name) {
			l.set(name, data[k], secret)
		}
	}
	return nil
}

// validEnvName accepts what the API server accepts for env names: printable
// ASCII without '='.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r > 0x7e || r == '=' {
			return false
		}
	}
	return true
}

// valueFrom resolves one env valueFrom. found is false for a missing optional key.
func valueFrom(ctx context.Context, pod *corev1.Pod, c *corev1.Container, vf *corev1.EnvVarSource, get *memoGetter, fv FieldValues) (v string, secret, found bool, err error) {
	switch {
	case vf.ConfigMapKeyRef != nil:
		ref := vf.ConfigMapKeyRef
		optional := ref.Optional != nil && *ref.Optional
		cm, err := get.ConfigMap(ctx, pod.Namespace, ref.Name)
		if apierrors.IsNotFound(err) && optional {
			return "", false, false, nil
		}
		if err != nil {
			return "", false, false, fmt.Errorf("configMap %q: %w", ref.Name, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, false, true, nil
		}
		if optional {
			return "", false, false, nil
		}
		return "", false, false, fmt.Errorf("configMap %q has no key %q", ref.Name, ref.Key)
	case vf.SecretKeyRef != nil:
		ref := vf.SecretKeyRef
		optional := ref.Optional != nil && *ref.Optional
		s, err := get.Secret(ctx, pod.Namespace, ref.Name)
		if apierrors.IsNotFound(err) && optional {
			return "", true, false, nil
		}
		if err != nil {
			return "", true, false, fmt.Errorf("secret %q: %w", ref.Name, err)
		}
		if v, ok := s.Data[ref.Key]; ok {
			return string(v), true, true, nil
		}
		if optional {
			return "", true, false, nil
		}
		return "", true, false, fmt.Errorf("secret %q has no key %q", ref.Name, ref.Key)
	case vf.FieldRef != nil:
		v, err := fieldValue(pod, vf.FieldRef.FieldPath, fv)
		return v, false, err == nil, err
	case vf.ResourceFieldRef != nil:
		v, err := resourceValue(pod, c, vf.ResourceFieldRef, fv)
		return v, false, err == nil, err
	}
	return "", false, false, fmt.Errorf("valueFrom names no source")
}

// fieldValue resolves a downward API fieldPath.
func fieldValue(pod *corev1.Pod, path string, fv FieldValues) (string, error) {
	if k, ok := subscript(path, "metadata.labels"); ok {
		return pod.Labels[k], nil
	}
	if k, ok := subscript(path, "metadata.annotations"); ok {
		return pod.Annotations[k], nil
	}
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs":
		return fv.HostIP, nil
	case "status.podIP", "status.podIPs":
		return fv.PodIP, nil
	}
	return "", fmt.Errorf("fieldRef %q is not supported", path)
}

// subscript parses `prefix['key']`.
func subscript(path, prefix string) (string, bool) {
	rest, ok := strings.CutPrefix(path, prefix+"['")
	if !ok || !strings.HasSuffix(rest, "']") {
		return "", false
	}
	return strings.TrimSuffix(rest, "']"), true
}

// resourceValue resolves a resourceFieldRef as the kubelet does: an unset limit
// reads the node's allocatable, values divide by the divisor and round up.
func resourceValue(pod *corev1.Pod, self *corev1.Container, ref *corev1.ResourceFieldSelector, fv FieldValues) (string, error) {
	c := self
	if ref.ContainerName != "" {
		c = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == ref.ContainerName {
				c = &pod.Spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef: no container %q", ref.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(ref.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("resourceFieldRef %q is not supported", ref.Resource)
	}
	rn := corev1.ResourceName(name)
	list := c.Resources.Limits
	if kind == "requests" {
		list = c.Resources.Requests
	}
	q, ok := list[rn]
	if !ok && kind == "limits" {
		q, ok = fv.Allocatable[rn]
	}
	if !ok {
		q = resource.Quantity{}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if rn == corev1.ResourceCPU {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(divisor.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(divisor.Value())))), nil
}

// Expand replaces $(NAME) in s with lookup(NAME) when defined, as Kubernetes
// does for env values, command and args: $$ is a literal $, $(UNDEFINED) and a
// lone $ stay as written.
func Expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// memoGetter caches lookups for one pod, so a Secret used by three variables is
// read once.
type memoGetter struct {
	get     ObjectGetter
	secrets map[string]*corev1.Secret
	cms     map[string]*corev1.ConfigMap
}

func (m *memoGetter) Secret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	if s, ok := m.secrets[name]; ok {
		return s, nil
	}
	s, err := m.get.Secret(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	m.secrets[name] = s
	return s, nil
}

func (m *memoGetter) ConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	if c, ok := m.cms[name]; ok {
		return c, nil
	}
	c, err := m.get.ConfigMap(ctx, ns, name)
	if err != nil {
		return nil, err
	}
	m.cms[name] = c
	return c, nil
}
