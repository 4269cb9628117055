package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/conformance"
	"github.com/surge-autoscaler/surge/providers/fake"
)

// broken wraps the fake backend with one defect, to show the suite catches it.
type broken struct {
	*fake.Backend
	defect string
	mu     sync.Mutex
	cached []providers.InstanceStatus
}

func (b *broken) Delete(ctx context.Context, ref providers.InstanceRef) error {
	err := b.Backend.Delete(ctx, ref)
	if b.defect == "delete-unknown-nil" && providers.IsNotFound(err) {
		return nil
	}
	return err
}

func (b *broken) Create(ctx context.Context, spec *providers.InstanceSpec) error {
	if b.defect == "mutates-spec" {
		spec.Labels["touched"] = "yes"
	}
	return b.Backend.Create(ctx, spec)
}

func (b *broken) List(ctx context.Context) ([]providers.InstanceStatus, error) {
	list, err := b.Backend.List(ctx)
	switch b.defect {
	case "duplicate-uid":
		for _, s := range list {
			if s.Ref.Name == "idempotent" {
				list = append(list, s)
			}
		}
	case "shared-list":
		b.mu.Lock()
		defer b.mu.Unlock()
		if len(b.cached) != len(list) {
			b.cached = list
		}
		return b.cached, err
	}
	return list, err
}

func harness(defect string) conformance.Harness {
	return conformance.Harness{
		Name: "broken-" + defect,
		New: func(t *testing.T) providers.Backend {
			return &broken{Backend: fake.New(fake.Options{Default: fake.Behavior{StartAfter: 10 * time.Millisecond}}), defect: defect}
		},
		Container: func(w conformance.Workload) (providers.ContainerSpec, bool) {
			return providers.ContainerSpec{Name: "main", Image: "img", Args: []string{conformance.LogMarker}}, w == conformance.RunForever
		},
		Interval: 5 * time.Millisecond,
		Timeout:  2 * time.Second,
	}
}

// TestHelperBrokenBackend runs the suite against a broken backend; it is only
// meant to run as the child process of TestSuiteCatchesDefects.
func TestHelperBrokenBackend(t *testing.T) {
	defect := os.Getenv("CONFORMANCE_DEFECT")
	if defect == "" {
		t.Skip("helper process for TestSuiteCatchesDefects")
	}
	conformance.Run(t, harness(defect))
}

// TestSuiteCatchesDefects runs the suite, in a child test process, against a
// backend with one defect at a time and checks that the subtest guarding against
// it fails. A suite that cannot fail proves nothing.
func TestSuiteCatchesDefects(t *testing.T) {
	tests := []struct{ defect, subtest string }{
		{"delete-unknown-nil", "DeleteUnknown"},
		{"mutates-spec", "CreateDoesNotModifySpec"},
		{"duplicate-uid", "CreateIsIdempotent"},
		{"shared-list", "ListReturnsCopies"},
	}
	for _, tc := range tests {
		t.Run(tc.defect, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperBrokenBackend$", "-test.v")
			cmd.Env = append(os.Environ(), "CONFORMANCE_DEFECT="+tc.defect)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("the suite passed a backend with defect %s:\n%s", tc.defect, out)
			}
			if !strings.Contains(string(out), "--- FAIL: TestHelperBrokenBackend/"+tc.subtest) {
				t.Fatalf("defect %s: subtest %s did not fail:\n%s", tc.defect, tc.subtest, out)
			}
		})
	}
}

func TestSuitePassesTheFake(t *testing.T) {
	conformance.Run(t, harness(""))
}
