package harness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// kubeVersion is the Kubernetes release test/controlplane builds; keep it equal to the
// k8s.io/kubernetes requirement in test/controlplane/go.mod.
const kubeVersion = "v1.37.2"

// ControlPlaneSourceDir returns the directory of the test/controlplane module, found
// from this file's location (SURGE_CONTROLPLANE_SRC overrides it).
func ControlPlaneSourceDir() (string, error) {
	if d := os.Getenv("SURGE_CONTROLPLANE_SRC"); d != "" {
		return d, nil
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", errors.New("cannot locate test/controlplane: set SURGE_CONTROLPLANE_SRC")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "controlplane")
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); err != nil {
		return "", fmt.Errorf("test/controlplane not found at %s: %w", dir, err)
	}
	return dir, nil
}

// CacheDir is where built binaries are kept across runs: $SURGE_CACHE_DIR, else
// $XDG_CACHE_HOME/surge, else ~/.cache/surge.
func CacheDir() string {
	if d := os.Getenv("SURGE_CACHE_DIR"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "surge")
	}
	return filepath.Join(os.TempDir(), "surge-cache")
}

// sourceHash hashes what decides the binary: the module's go.mod, go.sum and Go
// files, and the Go toolchain version.
func sourceHash(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return "", err
	}
	files = append(files, filepath.Join(dir, "go.mod"), filepath.Join(dir, "go.sum"))
	sort.Strings(files)
	h := sha256.New()
	fmt.Fprintln(h, runtime.Version(), kubeVersion)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// EnsureControlPlane returns the path of a surge-controlplane binary built from the
// current sources, building it if the cache has none. $SURGE_CONTROLPLANE names a
// prebuilt binary to use instead. Concurrent callers (parallel test packages) wait
// for one build through a file lock. The first build compiles Kubernetes: 11-17
// minutes on 2 cores; progress goes to log every 30 s.
func EnsureControlPlane(ctx context.Context, log io.Writer) (string, error) {
	if p := os.Getenv("SURGE_CONTROLPLANE"); p != "" {
		return p, nil
	}
	if log == nil {
		log = os.Stderr
	}
	src, err := ControlPlaneSourceDir()
	if err != nil {
		return "", err
	}
	sum, err := sourceHash(src)
	if err != nil {
		return "", fmt.Errorf("hash control-plane sources: %w", err)
	}
	dir := filepath.Join(CacheDir(), "controlplane", sum)
	bin := filepath.Join(dir, "surge-controlplane")
	if isExecutable(bin) {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(ctx, filepath.Join(dir, ".lock"), log)
	if err != nil {
		return "", err
	}
	defer unlock()
	if isExecutable(bin) { // built by whoever held the lock
		return bin, nil
	}
	return bin, buildControlPlane(ctx, src, bin, log)
}

func buildControlPlane(ctx context.Context, src, bin string, log io.Writer) error {
	fmt.Fprintf(log, "harness: building surge-controlplane (Kubernetes %s) into %s\n", kubeVersion, bin)
	fmt.Fprintln(log, "harness: the first build compiles Kubernetes: about 11-17 minutes on 2 cores; later runs reuse it")
	ldflags := "-s -w -X k8s.io/component-base/version.gitVersion=" + kubeVersion +
		" -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37" +
		" -X k8s.io/component-base/version.gitTreeState=clean"
	tmp := bin + ".tmp"
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", ldflags, "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start go build: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			if err != nil {
				return fmt.Errorf("build surge-controlplane: %w\n%s", err, out.String())
			}
			fmt.Fprintf(log, "harness: built surge-controlplane in %s\n", time.Since(start).Round(time.Second))
			return os.Rename(tmp, bin)
		case <-tick.C:
			fmt.Fprintf(log, "harness: still building surge-controlplane (%s elapsed)\n", time.Since(start).Round(time.Second))
		}
	}
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// lockFile takes an exclusive flock on path, waiting as long as ctx allows.
func lockFile(ctx context.Context, path string, log io.Writer) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	said := false
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !said {
			fmt.Fprintln(log, "harness: another process is building surge-controlplane; waiting for it")
			said = true
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
