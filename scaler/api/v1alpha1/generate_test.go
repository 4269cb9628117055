package v1alpha1

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// generateArgs is the one command that regenerates this package's deepcopy code and
// the CRDs; `make generate` runs it from the module root:
//
//	go tool controller-gen object paths=./scaler/api/... crd paths=./scaler/api/... output:crd:dir=charts/surge-scaler/crds
var generateArgs = []string{"tool", "controller-gen",
	"object", "paths=./scaler/api/...",
	"crd", "paths=./scaler/api/..."}

// TestGeneratedFilesAreCurrent regenerates deepcopy and CRDs into a temp dir and
// fails when the committed files differ: run `make generate` and commit.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	args := append(append([]string{}, generateArgs...),
		"output:object:dir="+tmp, "output:crd:dir="+filepath.Join(tmp, "crds"))
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %v: %v\n%s", args, err, out)
	}
	compare(t, filepath.Join(tmp, "zz_generated.deepcopy.go"), "zz_generated.deepcopy.go")
	committed := filepath.Join(root, "charts", "surge-scaler", "crds")
	fresh, err := os.ReadDir(filepath.Join(tmp, "crds"))
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != 3 {
		t.Errorf("controller-gen wrote %d CRDs, want 3", len(fresh))
	}
	old, err := os.ReadDir(committed)
	if err != nil {
		t.Fatalf("committed CRDs: %v (run make generate)", err)
	}
	if len(old) != len(fresh) {
		t.Errorf("%s holds %d files, controller-gen writes %d: run make generate", committed, len(old), len(fresh))
	}
	for _, f := range fresh {
		compare(t, filepath.Join(tmp, "crds", f.Name()), filepath.Join(committed, f.Name()))
	}
}

func compare(t *testing.T, fresh, committed string) {
	t.Helper()
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(committed)
	if err != nil {
		t.Errorf("%s: %v (run make generate)", committed, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run make generate and commit the result", committed)
	}
}
