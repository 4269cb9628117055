package local_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/conformance"
	"github.com/surge-autoscaler/surge/providers/local"
)

// newBackend returns a backend on a fresh directory with fast back-offs, mapping
// "sh" to /bin/sh and "worker" to the fixture. It is deleted-from and closed at
// the end of the test.
func newBackend(t *testing.T, mutate ...func(*local.Options)) (*local.Backend, local.Options) {
	t.Helper()
	im, err := local.NewImageMap(map[string]string{"sh": "/bin/sh", "worker": worker, "ghcr.io/x/missing": "/nonexistent/bin"})
	if err != nil {
		t.Fatal(err)
	}
	o := local.Options{Dir: t.TempDir(), Images: im, BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second,
		PollInterval: 20 * time.Millisecond}
	for _, m := range mutate {
		m(&o)
	}
	b, err := local.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClean(t, b) })
	return b, o
}

// closeClean deletes whatever is left and closes the backend.
func closeClean(t *testing.T, b *local.Backend) {
	// Not t.Context(): it is cancelled before cleanups run.
	list, err := b.List(context.Background())
	if errors.Is(err, local.ErrClosed) {
		return
	}
	if err != nil {
		t.Errorf("cleanup: List: %v", err)
	}
	for _, st := range list {
		if err := b.Delete(context.Background(), st.Ref); err != nil && !providers.IsNotFound(err) {
			t.Errorf("cleanup: Delete(%s): %v", st.Ref.Name, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// processesWith counts live processes whose command line contains marker.
func processesWith(t *testing.T, marker string) int {
	t.Helper()
	out, _ := exec.Command("pgrep", "-f", "-c", marker).Output()
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pgrep -c printed %q", out)
	}
	return n
}

func TestConformance(t *testing.T) {
	const runForever = `echo '` + conformance.LogMarker + `'; trap 'exit 0' TERM; sleep 1000 & wait`
	conformance.Run(t, conformance.Harness{
		Name: "local",
		New: func(t *testing.T) providers.Backend {
			b, _ := newBackend(t)
			return b
		},
		Container: func(w conformance.Workload) (providers.ContainerSpec, bool) {
			c := providers.ContainerSpec{Name: "main", Image: "sh"}
			switch w {
			case conformance.RunForever:
				c.Args = []string{"-c", runForever, "surge-conformance-run"}
			case conformance.ExitZero:
				c.Args = []string{"-c", "sleep 0.2; exit 0"}
			case conformance.ExitNonZero:
				c.Args = []string{"-c", "sleep 0.2; exit 3"}
			case conformance.Unrunnable:
				c.Image = "ghcr.io/x/not-mapped:1.0"
			}
			return c, true
		},
		AfterEach: func(t *testing.T, b providers.Backend) {
			if n := processesWith(t, "surge-conformance-run"); n != 0 {
				t.Errorf("%d conformance processes still run after every instance was deleted", n)
			}
			entries, _ := os.ReadDir(filepath.Join(b.(*local.Backend).Dir(), "pods"))
			if len(entries) != 0 {
				t.Errorf("%d instance directories left after every instance was deleted", len(entries))
			}
		},
		Timeout: 20 * time.Second,
	})
}
