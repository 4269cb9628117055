package charts_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	"helm.sh/helm/v4/pkg/engine"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Release names and namespace used by every render.
const (
	testRelease   = "surge"
	testNamespace = "surge-system"
)

// chartDir returns the absolute path of charts/<name> in this repository.
func chartDir(t testing.TB, name string) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test source")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", name)
}

// rendered is the output of one render: the manifests by template path and the
// objects they hold, in a stable order.
type rendered struct {
	files   map[string]string
	objects []*unstructured.Unstructured
}

// render renders chart name with the given values (YAML, as `helm install -f`), the
// way `helm install` does: coalesced with values.yaml, validated against
// values.schema.json, rendered by the engine. CRDs in crds/ are not templates and are
// not included.
func render(t testing.TB, name, valuesYAML string) (*rendered, error) {
	t.Helper()
	ch, err := loader.Load(chartDir(t, name))
	if err != nil {
		t.Fatalf("load chart %s: %v", name, err)
	}
	vals := map[string]any{}
	if err := yaml.Unmarshal([]byte(valuesYAML), &vals); err != nil {
		t.Fatalf("values: %v", err)
	}
	top, err := util.ToRenderValues(ch, vals, common.ReleaseOptions{
		Name: testRelease, Namespace: testNamespace, Revision: 1, IsInstall: true,
	}, nil)
	if err != nil {
		return nil, err
	}
	files, err := engine.Render(ch, top)
	if err != nil {
		return nil, err
	}
	r := &rendered{files: files}
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if !strings.HasSuffix(p, ".yaml") {
			continue
		}
		objs, err := decodeObjects(files[p])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		r.objects = append(r.objects, objs...)
	}
	return r, nil
}

// mustRender renders and fails the test on error.
func mustRender(t testing.TB, name, valuesYAML string) *rendered {
	t.Helper()
	r, err := render(t, name, valuesYAML)
	if err != nil {
		t.Fatalf("render %s: %v", name, err)
	}
	return r
}

// decodeObjects splits a multi-document YAML stream into objects, skipping empty
// documents.
func decodeObjects(s string) ([]*unstructured.Unstructured, error) {
	var out []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewBufferString(s), 4096)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if len(raw) == 0 || string(raw) == "null" || string(raw) == "{}" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("object %s: %w", raw, err)
		}
		out = append(out, u)
	}
}

// find returns the objects of kind, optionally with the given name.
func (r *rendered) find(kind, name string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, o := range r.objects {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			out = append(out, o)
		}
	}
	return out
}

// one returns the single object of kind (and name, if given), failing otherwise.
func (r *rendered) one(t testing.TB, kind, name string) *unstructured.Unstructured {
	t.Helper()
	objs := r.find(kind, name)
	if len(objs) != 1 {
		t.Fatalf("want exactly one %s %q, got %d (objects: %s)", kind, name, len(objs), r.summary())
	}
	return objs[0]
}

// summary lists kind/name of every object, for failure messages.
func (r *rendered) summary() string {
	s := make([]string, 0, len(r.objects))
	for _, o := range r.objects {
		s = append(s, o.GetKind()+"/"+o.GetName())
	}
	return strings.Join(s, ", ")
}
