package harness

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

var apiServiceGVR = schema.GroupVersionResource{Group: "apiregistration.k8s.io", Version: "v1", Resource: "apiservices"}

// WaitAPIServiceAvailable waits until the aggregator reports APIService name
// (such as v1beta1.external.metrics.k8s.io) Available; an error names the last
// reason and message the aggregator gave.
func (c *Cluster) WaitAPIServiceAvailable(ctx context.Context, name string) error {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	return Until(ctx, "APIService "+name+" Available", func(ctx context.Context) string {
		got, err := dyn.Resource(apiServiceGVR).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, cnd := range conds {
			if m, _ := cnd.(map[string]any); m["type"] == "Available" {
				if m["status"] == "True" {
					return ""
				}
				return fmt.Sprintf("%v: %v", m["reason"], m["message"])
			}
		}
		return "no Available condition yet"
	})
}
