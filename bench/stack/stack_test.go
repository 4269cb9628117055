package stack

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestRedactArgs(t *testing.T) {
	got := redactArgs([]string{"--amqp-url", "amqp://surge:s3cret@127.0.0.1:5672/", "--x=user@host", "plain"})
	want := []string{"--amqp-url", "amqp://xxxxx@127.0.0.1:5672/", "--x=user@host", "plain"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}

func TestPrefixWriter(t *testing.T) {
	var b bytes.Buffer
	w := prefixWriter{w: &b, prefix: "  "}
	if _, err := w.Write([]byte("one\ntwo\n")); err != nil {
		t.Fatal(err)
	}
	if b.String() != "  one\n  two\n" {
		t.Fatalf("got %q", b.String())
	}
}

func TestFindRoot(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module github.com/surge-autoscaler/surge\n\ngo 1.26.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	got, err := FindRoot()
	if err != nil || got != dir {
		t.Fatalf("FindRoot = %q, %v; want %q", got, err, dir)
	}
	t.Chdir(t.TempDir())
	if _, err := FindRoot(); err == nil || !strings.Contains(err.Error(), "--root") {
		t.Fatalf("err = %v, want a hint about --root", err)
	}
}

func TestCondition(t *testing.T) {
	u := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": "NamesAccepted", "status": "True"},
		map[string]any{"type": "Established", "status": "False"},
	}}}}
	if got := condition(u, "Established"); got != "False" {
		t.Fatalf("Established = %q", got)
	}
	if got := condition(u, "Available"); got != "" {
		t.Fatalf("Available = %q", got)
	}
}

// TestKillProcessesUnder starts processes in and out of a directory and checks that
// only those working under it are ended.
func TestKillProcessesUnder(t *testing.T) {
	state := t.TempDir()
	inside := filepath.Join(state, "pods", "uid", "worker")
	if err := os.MkdirAll(inside, 0o755); err != nil {
		t.Fatal(err)
	}
	start := func(dir string) *exec.Cmd {
		c := exec.Command("sleep", "60")
		c.Dir = dir
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	in, out := start(inside), start(t.TempDir())
	defer func() { _ = out.Process.Kill(); _ = out.Wait() }()
	exited := make(chan struct{})
	go func() { _ = in.Wait(); close(exited) }()

	if n := killProcessesUnder(state, 2*time.Second); n != 1 {
		t.Fatalf("ended %d processes, want 1", n)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the process under the state directory still runs")
	}
	if len(processesUnder(state)) != 0 {
		t.Fatal("processes left under the state directory")
	}
	if pids := processesUnder(filepath.Dir(out.Dir)); !containsPID(pids, out.Process.Pid) {
		t.Fatalf("the process outside (pid %d) is not running any more: %v", out.Process.Pid, pids)
	}
}

func containsPID(pids []int, pid int) bool {
	for _, p := range pids {
		if p == pid {
			return true
		}
	}
	return false
}
