package scalere2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

// Fixture annotations.
const (
	annField   = "test.surge.dev/field"   // the field the message must name
	annReason  = "test.surge.dev/reason"  // the Ready condition's reason
	annMessage = "test.surge.dev/message" // a substring of the message
	annShared  = "test.surge.dev/shared-target"
)

// decodeAll decodes a multi-document YAML file into typed objects.
func decodeAll(t *testing.T, path string) []client.Object {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := serializer.NewCodecFactory(scheme).UniversalDeserializer()
	var out []client.Object
	for _, doc := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		obj, _, err := dec.Decode(js, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, obj.(client.Object))
	}
	return out
}

// TestMalformedManifests applies every fixture in testdata/invalid: each passes
// admission but must get Ready=False with a message naming the field, a Warning
// event, and leave its target's replicas and any HPA alone.
func TestMalformedManifests(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	ns := nsInvalid
	env.fake.Set("claim-owner", 0)
	for _, o := range decodeAll(t, "testdata/invalid-setup.yaml") {
		o.SetNamespace(ns)
		create(t, o)
	}
	waitCondition(t, ns, "claim-owner", v1alpha1.ConditionReady, metav1.ConditionTrue)
	time.Sleep(time.Second) // fixtures are strictly younger than claim-owner

	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) < 20 {
		t.Fatalf("%d invalid fixtures, want at least 20", len(files))
	}
	var fixtures []*v1alpha1.ScaledObject
	for _, f := range files {
		objs := decodeAll(t, f)
		so, ok := objs[0].(*v1alpha1.ScaledObject)
		if !ok || len(objs) != 1 || so.Name+".yaml" != filepath.Base(f) {
			t.Fatalf("%s: want one ScaledObject named after the file", f)
		}
		so.Namespace = ns
		if so.Spec.ScaleTargetRef != nil && so.Spec.ScaleTargetRef.Name == so.Name {
			create(t, deployment(ns, so.Name, 3))
		}
		create(t, so)
		fixtures = append(fixtures, so)
	}
	for _, fx := range fixtures {
		t.Run(fx.Name, func(t *testing.T) {
			field, reason, msg := fx.Annotations[annField], fx.Annotations[annReason], fx.Annotations[annMessage]
			var got *metav1.Condition
			harness.Eventually(t, "Ready=False naming "+field, func() string {
				so := getSO(t, ns, fx.Name)
				got = cond(so, v1alpha1.ConditionReady)
				switch {
				case got == nil || got.Status != metav1.ConditionFalse:
					return "conditions " + conditionsText(so)
				case !strings.Contains(got.Message, field+":"):
					return "message does not name " + field + ": " + got.Message
				case msg != "" && !strings.Contains(got.Message, msg):
					return "message lacks " + msg + ": " + got.Message
				case reason != "" && got.Reason != reason:
					return "reason " + got.Reason + ", want " + reason + ": " + got.Message
				}
				return ""
			})
			t.Logf("%s: %s", got.Reason, got.Message)
			harness.Eventually(t, "a Warning event", func() string {
				if !hasEvent(t, ns, fx.Name, corev1.EventTypeWarning, reason) {
					return eventSummary(t, ns, fx.Name)
				}
				return ""
			})
			if _, err := getHPA(ns, "surge-"+fx.Name); !isNotFound(err) {
				t.Errorf("an HPA was created for an invalid ScaledObject: %v", err)
			}
		})
	}
	// Two more poll intervals: nothing may have touched a target or an HPA.
	time.Sleep(2 * time.Second)
	for _, fx := range fixtures {
		if fx.Spec.ScaleTargetRef != nil && fx.Spec.ScaleTargetRef.Name == fx.Name {
			if got := replicas(t, ns, fx.Name); got != 3 {
				t.Errorf("%s: target scaled to %d, want it untouched at 3", fx.Name, got)
			}
		}
	}
	if h, err := getHPA(ns, "foreign-hpa"); err != nil || h.Spec.ScaleTargetRef.Name != "target-scaled-by-foreign-hpa" || len(h.OwnerReferences) != 0 {
		t.Errorf("foreign HPA changed: %v %+v", err, h)
	}
	if h, err := getHPA(ns, "taken-hpa-name"); err != nil || h.Spec.ScaleTargetRef.Name != "somebody-else" || len(h.OwnerReferences) != 0 {
		t.Errorf("HPA named like a ScaledObject's wanted HPA changed: %v", err)
	}

	// Fixing a fixture makes it Ready: the error was the only thing in the way.
	so := getSO(t, ns, "min-above-max")
	so.Spec.MaxReplicaCount = ptr(int32(10))
	if err := env.c.Update(ctx, so); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, ns, "min-above-max", v1alpha1.ConditionReady, metav1.ConditionTrue)
	waitReplicas(t, ns, "min-above-max", 5) // inactive, below min → min
}

// TestRejectedAtAdmission applies every fixture in testdata/rejected: the CRD schema
// must refuse each, naming the field.
func TestRejectedAtAdmission(t *testing.T) {
	harness.Integration(t)
	files, _ := filepath.Glob("testdata/rejected/*.yaml")
	if len(files) < 10 {
		t.Fatalf("%d rejected fixtures, want at least 10", len(files))
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".yaml"), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			// Decode loosely (a wrong type must reach the API server, not fail here).
			u := map[string]any{}
			if err := yaml.Unmarshal(b, &u); err != nil {
				t.Fatal(err)
			}
			field := u["metadata"].(map[string]any)["annotations"].(map[string]any)[annField].(string)
			u["metadata"].(map[string]any)["namespace"] = nsInvalid
			err = env.c.Create(context.Background(), unstructuredFrom(u))
			if err == nil {
				t.Fatalf("accepted; want a rejection naming %s", field)
			}
			if !strings.Contains(err.Error(), field) {
				t.Fatalf("rejection does not name %s: %v", field, err)
			}
			t.Log(err)
		})
	}
}

func conditionsText(so *v1alpha1.ScaledObject) string {
	var b strings.Builder
	for _, c := range so.Status.Conditions {
		b.WriteString(c.Type + "=" + string(c.Status) + "(" + c.Reason + ": " + c.Message + ") ")
	}
	return b.String()
}
