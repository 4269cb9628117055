package harness

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestTwoClustersSideBySide starts two control planes at once and checks that each
// serves its own API on its own ports.
func TestTwoClustersSideBySide(t *testing.T) {
	Integration(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	var clusters [2]*Cluster
	errs := make(chan error, 2)
	for i := range clusters {
		go func() {
			c, err := StartCluster(ctx, ClusterOptions{})
			clusters[i] = c
			errs <- err
		}()
	}
	for range clusters {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range clusters {
			if err := c.Stop(); err != nil {
				t.Error(err)
			}
		}
	}()
	if clusters[0].Info.APIServerPort == clusters[1].Info.APIServerPort {
		t.Fatalf("both clusters on port %d", clusters[0].Info.APIServerPort)
	}
	for i, c := range clusters {
		name := fmt.Sprintf("only-in-cluster-%d", i)
		if _, err := c.Client.CoreV1().ConfigMaps("default").Create(ctx, newConfigMap(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range clusters {
		other := fmt.Sprintf("only-in-cluster-%d", 1-i)
		if _, err := c.Client.CoreV1().ConfigMaps("default").Get(ctx, other, metav1.GetOptions{}); err == nil {
			t.Fatalf("cluster %d sees cluster %d's ConfigMap: the clusters share state", i, 1-i)
		}
	}
}

// TestKilledOwnerLeavesNoProcesses starts a cluster from a child process (this test
// binary re-executed), SIGKILLs that child, and checks that every control-plane
// process of that cluster is gone.
func TestKilledOwnerLeavesNoProcesses(t *testing.T) {
	Integration(t)
	if os.Getenv("SURGE_HARNESS_CHILD") != "" {
		return // the child half runs in TestHelperProcessStartsCluster
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcessStartsCluster$", "-test.v")
	cmd.Env = append(os.Environ(), "SURGE_HARNESS_CHILD="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Logf("child output:\n%s", out.String())
		}
	}()
	ready := filepath.Join(dir, "cluster", "cluster.json")
	Eventually(t, "the child to start a cluster", func() string {
		if _, err := os.Stat(ready); err != nil {
			return "no " + ready
		}
		return ""
	})
	if n := processesUsing(dir); n < 3 {
		t.Fatalf("expected the control plane's processes to be running, found %d", n)
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	Eventually(t, "the control plane to end with its owner", func() string {
		if n := processesUsing(dir); n > 0 {
			return fmt.Sprintf("%d control-plane processes of %s running", n, dir)
		}
		return ""
	})
}

// TestHelperProcessStartsCluster is the child half of TestKilledOwnerLeavesNoProcesses.
func TestHelperProcessStartsCluster(t *testing.T) {
	dir := os.Getenv("SURGE_HARNESS_CHILD")
	if dir == "" {
		t.Skip("helper process for TestKilledOwnerLeavesNoProcesses")
	}
	c, err := StartCluster(context.Background(), ClusterOptions{Dir: filepath.Join(dir, "cluster")})
	if err != nil {
		t.Fatal(err)
	}
	_ = c
	select {} // wait to be killed
}

// processesUsing counts processes whose command line mentions dir.
func processesUsing(dir string) int {
	entries, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if strings.Contains(string(b), dir) && strings.Contains(string(b), "surge-controlplane") {
			n++
		}
	}
	return n
}
