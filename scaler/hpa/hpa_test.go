package hpa

import (
	"regexp"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

func TestMetricName(t *testing.T) {
	long := strings.Repeat("very-long-name-", 20)
	tests := []struct {
		name, ns, obj, ident string
		prefix               string
	}{
		{name: "readable", ns: "default", obj: "web", ident: "rabbitmq-orders", prefix: "rabbitmq-orders-web-"},
		{name: "named trigger", ns: "default", obj: "web", ident: "queue_Depth!", prefix: "queue-depth-web-"},
		{name: "long everything", ns: long, obj: long, ident: long, prefix: "very-long-name-very-long-name-ve-very-long-name-very-"},
		{name: "unicode identity", ns: "a", obj: "b", ident: "日本", prefix: "trigger-b-"},
		{name: "dots in object", ns: "a", obj: "my.app", ident: "kafka", prefix: "kafka-my-app-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := MetricName(tt.ns, tt.obj, tt.ident)
			if !dnsLabel.MatchString(n) || len(n) > 63 {
				t.Fatalf("%q is not a DNS label of <= 63 characters", n)
			}
			if !strings.HasPrefix(n, tt.prefix) {
				t.Fatalf("%q does not start with %q", n, tt.prefix)
			}
			if MetricName(tt.ns, tt.obj, tt.ident) != n {
				t.Fatal("not stable")
			}
		})
	}
	// Each input part changes the name, even when the sanitised text is the same.
	a := MetricName("ns", "obj", "a_b")
	for _, other := range []string{MetricName("ns2", "obj", "a_b"), MetricName("ns", "obj2", "a_b"), MetricName("ns", "obj", "a-b")} {
		if other == a {
			t.Fatalf("collision: %q", a)
		}
	}
}

func TestTriggerIdent(t *testing.T) {
	tests := []struct{ name, trig, typ, hint, want string }{
		{name: "name wins", trig: "orders", typ: "rabbitmq", hint: "rabbitmq-q", want: "orders"},
		{name: "hint with type prefix", typ: "rabbitmq", hint: "rabbitmq-q", want: "rabbitmq-q"},
		{name: "hint without type prefix", typ: "kafka", hint: "topic-a", want: "kafka-topic-a"},
		{name: "type only", typ: "fake", want: "fake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TriggerIdent(tt.trig, tt.typ, tt.hint); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSelectorValue(t *testing.T) {
	for _, name := range []string{"web", strings.Repeat("a", 63), strings.Repeat("a.b-", 60)} {
		v := SelectorValue(name)
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			t.Fatalf("SelectorValue(%q) = %q: %v", name, v, errs)
		}
		if len(name) <= 63 && v != name {
			t.Fatalf("short name changed: %q", v)
		}
	}
	if SelectorValue(strings.Repeat("a", 64)) == SelectorValue(strings.Repeat("a", 65)) {
		t.Fatal("long names collide")
	}
}

func so() *v1alpha1.ScaledObject {
	minR, maxR := int32(0), int32(20)
	return &v1alpha1.ScaledObject{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: types.UID("u1")},
		Spec:       v1alpha1.ScaledObjectSpec{MinReplicaCount: &minR, MaxReplicaCount: &maxR},
	}
}

func TestBuild(t *testing.T) {
	window := int32(30)
	tests := []struct {
		name    string
		mutate  func(*v1alpha1.ScaledObject)
		metrics []trigger.Metric
		check   func(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler)
	}{
		{name: "defaults", metrics: []trigger.Metric{{Key: trigger.Key{Name: "m1"}, Rule: trigger.Rule{Target: 10}}}, check: func(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) {
			if h.Name != "surge-web" || h.Namespace != "shop" || *h.Spec.MinReplicas != 1 || h.Spec.MaxReplicas != 20 {
				t.Fatalf("meta/bounds: %s/%s %d..%d", h.Namespace, h.Name, *h.Spec.MinReplicas, h.Spec.MaxReplicas)
			}
			m := h.Spec.Metrics[0]
			if m.Type != autoscalingv2.ExternalMetricSourceType || m.External.Metric.Name != "m1" ||
				m.External.Target.Type != autoscalingv2.AverageValueMetricType || m.External.Target.AverageValue.String() != "10" {
				t.Fatalf("metric: %+v", m.External)
			}
			if m.External.Metric.Selector.MatchLabels[LabelScaledObject] != "web" {
				t.Fatalf("selector: %v", m.External.Metric.Selector)
			}
			if !IsOwnedBy(h, so()) || h.Spec.Behavior != nil {
				t.Fatal("owner or behavior")
			}
			if h.Spec.ScaleTargetRef != (autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"}) {
				t.Fatalf("target: %+v", h.Spec.ScaleTargetRef)
			}
		}},
		{name: "value metric with milli precision", metrics: []trigger.Metric{{Key: trigger.Key{Name: "m1"}, Rule: trigger.Rule{Target: 0.25, Type: autoscalingv2.ValueMetricType}}}, check: func(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) {
			tg := h.Spec.Metrics[0].External.Target
			if tg.Type != autoscalingv2.ValueMetricType || tg.Value.String() != "250m" || tg.AverageValue != nil {
				t.Fatalf("target: %+v", tg)
			}
		}},
		{name: "min above one and custom name and behavior", mutate: func(s *v1alpha1.ScaledObject) {
			m := int32(3)
			s.Spec.MinReplicaCount = &m
			s.Spec.Advanced = &v1alpha1.AdvancedConfig{HorizontalPodAutoscalerConfig: &v1alpha1.HorizontalPodAutoscalerConfig{
				Name:     "custom",
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: &window}},
			}}
		}, metrics: []trigger.Metric{{Key: trigger.Key{Name: "a"}, Rule: trigger.Rule{Target: 1}}, {Key: trigger.Key{Name: "b"}, Rule: trigger.Rule{Target: 2}}}, check: func(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) {
			if h.Name != "custom" || *h.Spec.MinReplicas != 3 || len(h.Spec.Metrics) != 2 {
				t.Fatalf("%s min %d metrics %d", h.Name, *h.Spec.MinReplicas, len(h.Spec.Metrics))
			}
			if h.Spec.Behavior == nil || *h.Spec.Behavior.ScaleDown.StabilizationWindowSeconds != 30 {
				t.Fatal("behavior not passed through")
			}
		}},
		{name: "max below min is raised", mutate: func(s *v1alpha1.ScaledObject) {
			m := int32(0)
			s.Spec.MaxReplicaCount = &m
		}, metrics: []trigger.Metric{{Key: trigger.Key{Name: "a"}, Rule: trigger.Rule{Target: 1}}}, check: func(t *testing.T, h *autoscalingv2.HorizontalPodAutoscaler) {
			if h.Spec.MaxReplicas != 1 {
				t.Fatalf("max %d", h.Spec.MaxReplicas)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := so()
			if tt.mutate != nil {
				tt.mutate(s)
			}
			tt.check(t, Build(s, Target{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"}, tt.metrics))
		})
	}
}

func TestApply(t *testing.T) {
	target := Target{APIVersion: "apps/v1", Kind: "Deployment", Name: "api"}
	desired := Build(so(), target, []trigger.Metric{{Key: trigger.Key{Name: "m"}, Rule: trigger.Rule{Target: 5}}})

	// What the API server stores: our spec plus defaults and its own metadata.
	stored := desired.DeepCopy()
	stored.ResourceVersion = "7"
	stored.Labels["extra"] = "kept"
	if _, changed := Apply(stored, desired); changed {
		t.Fatal("an unchanged HPA must not be written")
	}

	// Server-side defaulting of behavior must not cause writes.
	withBehavior := so()
	withBehavior.Spec.Advanced = &v1alpha1.AdvancedConfig{HorizontalPodAutoscalerConfig: &v1alpha1.HorizontalPodAutoscalerConfig{
		Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{}}}
	d2 := Build(withBehavior, target, []trigger.Metric{{Key: trigger.Key{Name: "m"}, Rule: trigger.Rule{Target: 5}}})
	s2 := d2.DeepCopy()
	sel := autoscalingv2.MaxChangePolicySelect
	s2.Spec.Behavior.ScaleUp = &autoscalingv2.HPAScalingRules{SelectPolicy: &sel}
	if _, changed := Apply(s2, d2); changed {
		t.Fatal("defaulted behavior must not cause a write")
	}

	tests := []struct {
		name   string
		mutate func(h *autoscalingv2.HorizontalPodAutoscaler)
	}{
		{name: "max changed by someone", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.MaxReplicas = 99 }},
		{name: "metric removed", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Spec.Metrics = nil }},
		{name: "hash annotation lost", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Annotations = nil }},
		{name: "label changed", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.Labels[LabelScaledObject] = "x" }},
		{name: "owner lost", mutate: func(h *autoscalingv2.HorizontalPodAutoscaler) { h.OwnerReferences = nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			live := stored.DeepCopy()
			tt.mutate(live)
			out, changed := Apply(live, desired)
			if !changed {
				t.Fatal("drift not repaired")
			}
			if _, again := Apply(out, desired); again {
				t.Fatal("repair is not a fixed point")
			}
			if out.ResourceVersion != "7" || out.Labels["extra"] != "kept" {
				t.Fatal("foreign metadata lost")
			}
		})
	}
}

func TestCheckTarget(t *testing.T) {
	for _, tt := range []struct {
		v  float64
		ok bool
	}{{10, true}, {0.001, true}, {0.0004, false}, {0, false}, {-1, false}, {1e300, false}} {
		if err := CheckTarget(tt.v); (err == nil) != tt.ok {
			t.Errorf("CheckTarget(%v) = %v", tt.v, err)
		}
	}
}
