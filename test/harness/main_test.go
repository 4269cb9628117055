package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) { Main(m, Needs{}, nil) }

func TestAtExitRunsLastFirstAndReportsErrors(t *testing.T) {
	var order []string
	AtExit("a", func() error { order = append(order, "a"); return nil })
	AtExit("b", func() error { order = append(order, "b"); return errors.New("boom") })
	AtExit("c", func() error { order = append(order, "c"); return nil })
	err := runAtExit()
	if want := []string{"c", "b", "a"}; !reflect.DeepEqual(order, want) {
		t.Errorf("order %v, want %v", order, want)
	}
	if err == nil || !strings.Contains(err.Error(), "stop b: boom") {
		t.Errorf("err = %v, want it to name b's failure", err)
	}
	if err := runAtExit(); err != nil {
		t.Errorf("second run: %v (each function runs once)", err)
	}
}

func TestUntilNamesWhatItWaitedFor(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := Until(ctx, "the answer", func(context.Context) string {
		calls++
		if calls == 3 {
			cancel()
		}
		return "still 41"
	})
	if err == nil || !strings.Contains(err.Error(), "the answer") || !strings.Contains(err.Error(), "still 41") {
		t.Fatalf("err = %v", err)
	}
	if err := Until(context.Background(), "x", func(context.Context) string { return "" }); err != nil {
		t.Fatalf("met condition: %v", err)
	}
}

func TestEventuallyReturnsOnceMet(t *testing.T) {
	n := 0
	Eventually(t, "three calls", func() string {
		if n++; n < 3 {
			return "fewer than three"
		}
		return ""
	})
	EventuallyTrue(t, "true", func() bool { return true })
}

func TestFreePortsAreDistinct(t *testing.T) {
	ports, err := FreePorts(5)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p == 0 {
			t.Fatalf("ports %v repeat or are zero", ports)
		}
		seen[p] = true
	}
}

// recordTB records how Missing ended a test.
type recordTB struct {
	testing.TB
	fatal, skip string
}

func (r *recordTB) Helper()                        {}
func (r *recordTB) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }
func (r *recordTB) Skipf(format string, a ...any)  { r.skip = fmt.Sprintf(format, a...) }

func TestMissingSkipsLocallyAndFailsUnderCI(t *testing.T) {
	t.Setenv("CI", "")
	local := &recordTB{}
	Missing(local, "needs root", "run as root")
	if local.fatal != "" || !strings.Contains(local.skip, "needs root") || !strings.Contains(local.skip, "run as root") {
		t.Errorf("without CI: %+v, want a skip saying what and how", local)
	}
	t.Setenv("CI", "true")
	ci := &recordTB{}
	Missing(ci, "needs root", "run as root")
	if ci.skip != "" || !strings.Contains(ci.fatal, "needs root") || !strings.Contains(ci.fatal, "run as root") {
		t.Errorf("CI=true: %+v, want a failure saying what and how", ci)
	}
}

func TestServiceAccountKubeconfigImpersonates(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{"ca.crt": "CA", "admin.crt": "CERT", "admin.key": "KEY"}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	c := &Cluster{Config: &rest.Config{Host: "https://127.0.0.1:6443"}, Info: ClusterInfo{Server: "https://127.0.0.1:6443",
		CACert: filepath.Join(dir, "ca.crt"), AdminCert: filepath.Join(dir, "admin.crt"), AdminKey: filepath.Join(dir, "admin.key")}}
	cfg := c.ServiceAccountConfig("ns", "sa")
	if cfg.Impersonate.UserName != "system:serviceaccount:ns:sa" || len(cfg.Impersonate.Groups) != 3 {
		t.Errorf("impersonation %+v", cfg.Impersonate)
	}
	if c.Config.Impersonate.UserName != "" {
		t.Error("ServiceAccountConfig changed the admin config")
	}
	path := filepath.Join(dir, "sa.kubeconfig")
	if err := c.ServiceAccountKubeconfig(path, "ns", "sa"); err != nil {
		t.Fatal(err)
	}
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := kc.Contexts[kc.CurrentContext]
	auth := kc.AuthInfos[ctx.AuthInfo]
	if auth.Impersonate != cfg.Impersonate.UserName || !reflect.DeepEqual(auth.ImpersonateGroups, cfg.Impersonate.Groups) {
		t.Errorf("kubeconfig user %+v", auth)
	}
	// Embedded, so that no client of it starts a certificate-file watcher.
	if string(auth.ClientCertificateData) != "CERT" || string(auth.ClientKeyData) != "KEY" || auth.ClientCertificate != "" ||
		string(kc.Clusters[ctx.Cluster].CertificateAuthorityData) != "CA" {
		t.Errorf("certificates not embedded: user %+v cluster %+v", auth, kc.Clusters[ctx.Cluster])
	}
}
