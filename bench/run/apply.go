package run

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/scenarios"
)

// fieldManager names the bench's writes.
const fieldManager = "surge-bench"

// Render expands a scenario's manifests with vars and decodes them.
func Render(s *scenarios.Scenario, vars map[string]string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	for _, m := range s.Manifests {
		data, err := scenarios.Expand(m.Data, vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
			if t := bytes.TrimSpace(raw); len(t) == 0 || bytes.Equal(t, []byte("null")) || bytes.Equal(t, []byte("{}")) {
				continue
			}
			// Unstructured's own decoder keeps integers as int64 (plain JSON would
			// make them float64).
			u := &unstructured.Unstructured{}
			if err := u.UnmarshalJSON(raw); err != nil {
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
			if u.GetKind() == "" || u.GetAPIVersion() == "" {
				return nil, fmt.Errorf("%s: an object without apiVersion or kind", m.Name)
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// applier applies objects with server-side apply.
type applier struct {
	dyn    dynamic.Interface
	mapper meta.RESTMapper
	kube   kubernetes.Interface
}

func newApplier(kube kubernetes.Interface, dyn dynamic.Interface, disc discovery.DiscoveryInterface) *applier {
	return &applier{kube: kube, dyn: dyn, mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// resource maps a GroupVersionKind to its resource, refreshing discovery once when
// the kind is unknown (a CRD installed a moment ago).
func (a *applier) resource(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil && meta.IsNoMatchError(err) {
		if r, ok := a.mapper.(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
		m, err = a.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		if meta.IsNoMatchError(err) {
			hint := ""
			if strings.HasSuffix(gvk.Group, "surge.dev") {
				hint = " (install Surge's CRDs: kubectl apply -f charts/surge-scaler/crds/)"
			}
			return nil, fmt.Errorf("the cluster does not serve %s%s", gvk, hint)
		}
		return nil, fmt.Errorf("map %s: %w", gvk, err)
	}
	return m, nil
}

// ensureNamespace creates ns if it does not exist.
func (a *applier) ensureNamespace(ctx context.Context, ns string) error {
	_, err := a.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: ns, Labels: map[string]string{"app.kubernetes.io/managed-by": fieldManager}}}, metav1.CreateOptions{FieldManager: fieldManager})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", ns, err)
	}
	return nil
}

// apply server-side-applies objs into ns (namespaced kinds) in order.
func (a *applier) apply(ctx context.Context, ns string, objs []*unstructured.Unstructured) error {
	for _, o := range objs {
		m, err := a.resource(o.GroupVersionKind())
		if err != nil {
			return err
		}
		var ri dynamic.ResourceInterface = a.dyn.Resource(m.Resource)
		if m.Scope.Name() == meta.RESTScopeNameNamespace {
			o.SetNamespace(ns)
			ri = a.dyn.Resource(m.Resource).Namespace(ns)
		}
		force := true
		if _, err := ri.Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: fieldManager, Force: force}); err != nil {
			return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// deleteNamespace deletes ns and, if wait > 0, waits up to wait for it to be gone.
func (a *applier) deleteNamespace(ctx context.Context, ns string, wait time.Duration) error {
	err := a.kube.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete namespace %s: %w", ns, err)
	}
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if _, err := a.kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	if wait > 0 {
		return fmt.Errorf("namespace %s still terminating after %v", ns, wait)
	}
	return nil
}

// SettingsFromManifests fills the settings a ScaledObject decides: pollingInterval,
// cooldownPeriod, burstStart, maxReplicaCount (KEDA's defaults where absent) and the
// first trigger's target value.
func SettingsFromManifests(objs []*unstructured.Unstructured, s *report.Settings) {
	for _, o := range objs {
		if o.GetKind() != "ScaledObject" {
			continue
		}
		s.Autoscaler = o.GetAPIVersion() + " ScaledObject"
		s.PollingInterval = seconds(o, 30, "spec", "pollingInterval")
		s.CooldownPeriod = seconds(o, 300, "spec", "cooldownPeriod")
		s.BurstStart, _, _ = unstructured.NestedBool(o.Object, "spec", "advanced", "burstStart")
		s.MaxReplicas = 100
		if v, ok, _ := unstructured.NestedInt64(o.Object, "spec", "maxReplicaCount"); ok {
			s.MaxReplicas = int(v)
		}
		if _, ok, _ := unstructured.NestedFieldNoCopy(o.Object, "spec", "advanced", "horizontalPodAutoscalerConfig", "behavior"); ok {
			s.HPABehavior = "custom (spec.advanced.horizontalPodAutoscalerConfig.behavior)"
		} else {
			s.HPABehavior = "default"
		}
		triggers, _, _ := unstructured.NestedSlice(o.Object, "spec", "triggers")
		if len(triggers) > 0 {
			if t, ok := triggers[0].(map[string]any); ok {
				md, _, _ := unstructured.NestedStringMap(t, "metadata")
				for _, k := range []string{"value", "queueLength", "lagThreshold", "threshold", "target"} {
					if v, ok := md[k]; ok {
						s.TriggerValue = v
						break
					}
				}
				if typ, ok := t["type"].(string); ok {
					s.Trigger = typ
				}
			}
		}
		return
	}
}

func seconds(o *unstructured.Unstructured, def int64, path ...string) time.Duration {
	v, ok, err := unstructured.NestedInt64(o.Object, path...)
	if err != nil {
		// A value written as a string ("5") by a template.
		if s, ok2, _ := unstructured.NestedString(o.Object, path...); ok2 {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return time.Duration(n) * time.Second
			}
		}
	}
	if !ok {
		v = def
	}
	return time.Duration(v) * time.Second
}
