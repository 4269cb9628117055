package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// CRDDir is where the generated CustomResourceDefinitions live, relative to the
// repository root (`make generate` writes them; the chart installs them).
const CRDDir = "charts/surge-scaler/crds"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// RepoRoot returns the repository's root directory, found from this file's location.
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("cannot locate the repository root from the harness's source file")
	}
	return filepath.Join(filepath.Dir(file), "..", ".."), nil
}

// InstallCRDs creates surge's CustomResourceDefinitions (CRDDir) in the cluster and
// waits until every one is Established, so its resources can be used at once.
// A CRD that already exists is left as it is.
func (c *Cluster) InstallCRDs(ctx context.Context) error {
	root, err := RepoRoot()
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(root, CRDDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs under %s (run make generate): %v", CRDDir, err)
	}
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return err
	}
	for _, f := range files {
		name, err := createCRD(ctx, dyn, f)
		if err != nil {
			return err
		}
		if err := Until(ctx, "CRD "+name+" Established", func(ctx context.Context) string {
			return crdEstablished(ctx, dyn, name)
		}); err != nil {
			return err
		}
	}
	return nil
}

// createCRD creates the CRD in file and returns its name.
func createCRD(ctx context.Context, dyn dynamic.Interface, file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	crd := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(b, &crd.Object); err != nil {
		return "", fmt.Errorf("%s: %w", file, err)
	}
	_, err = dyn.Resource(crdGVR).Create(ctx, crd, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return "", fmt.Errorf("create CRD %s: %w", crd.GetName(), err)
	}
	return crd.GetName(), nil
}

// crdEstablished returns "" once the CRD's Established condition is True, else
// what it is now.
func crdEstablished(ctx context.Context, dyn dynamic.Interface, name string) string {
	got, err := dyn.Resource(crdGVR).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	for _, c := range conds {
		if m, _ := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
			return ""
		}
	}
	return fmt.Sprintf("conditions %v", conds)
}
