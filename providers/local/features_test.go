package local_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/local"
	"github.com/surge-autoscaler/surge/test/harness"
)

func requireCgroups(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		harness.Missing(t, "cgroup limits need root to create cgroups", "run the tests as root")
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory/memory.limit_in_bytes"); err != nil {
		if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err != nil {
			t.Fatal("no cgroup v1 memory controller and no cgroup v2 at /sys/fs/cgroup: limits cannot be tested")
		}
	}
}

func TestMemoryLimitOOMKills(t *testing.T) {
	requireCgroups(t)
	b, _ := newBackend(t)
	spec := workerSpec("oom", providers.RestartNever, "-alloc-mb=256")
	spec.Containers[0].Limits = providers.ResourceList{MemoryBytes: 64 << 20}
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool { return st.Phase == providers.PhaseFailed })
	if c := st.Containers[0]; c.Reason != "OOMKilled" || c.ExitCode != 137 {
		t.Fatalf("container %+v, want OOMKilled with exit code 137", c)
	}
	// The same program within its limit runs.
	ok := workerSpec("fits", providers.RestartNever, "-alloc-mb=16")
	ok.Containers[0].Limits = providers.ResourceList{MemoryBytes: 128 << 20}
	if err := b.Create(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, ok.Ref.UID, running)
	waitLog(t, b, ok.Ref, "allocated 16 MiB")
}

// cpuSeconds returns a process's user+system CPU time.
func cpuSeconds(t *testing.T, pid int) float64 {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data)[strings.LastIndexByte(string(data), ')')+1:])
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100 // USER_HZ
}

func TestCPULimitThrottles(t *testing.T) {
	requireCgroups(t)
	b, o := newBackend(t)
	spec := workerSpec("spin", providers.RestartAlways, "-spin")
	spec.Containers[0].Limits = providers.ResourceList{MilliCPU: 100}
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, spec.Ref.UID, running)
	pid := pidOf(t, o.Dir, spec.Ref.UID)
	c0, t0 := cpuSeconds(t, pid), time.Now()
	time.Sleep(2 * time.Second)
	used := (cpuSeconds(t, pid) - c0) / time.Since(t0).Seconds()
	// 100m is 0.1 CPU; an unlimited spinner uses about 1 CPU.
	if used > 0.2 {
		t.Fatalf("spinner with a 100m limit used %.2f CPU", used)
	}
	t.Logf("spinner with a 100m limit used %.3f CPU", used)
}

func TestEnvironmentIsTheSpecsOnly(t *testing.T) {
	t.Setenv("SURGE_VNODE_SECRET_SHOULD_NOT_LEAK", "leaked")
	b, _ := newBackend(t)
	spec := workerSpec("env", providers.RestartAlways,
		"-print-env=FOO,TOKEN,HOSTNAME,SURGE_VNODE_SECRET_SHOULD_NOT_LEAK,PATH")
	spec.Containers[0].Env = []providers.EnvVar{{Name: "FOO", Value: "bar baz"}, {Name: "TOKEN", Value: "s3cret", Secret: true},
		{Name: "FOO", Value: "last wins"}}
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	out := waitLog(t, b, spec.Ref, "env PATH=")
	for _, want := range []string{"env FOO=last wins", "env TOKEN=s3cret", "env HOSTNAME=env\n", "env SURGE_VNODE_SECRET_SHOULD_NOT_LEAK=\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

func TestCommandReplacesArgv0AndArgsFollow(t *testing.T) {
	b, _ := newBackend(t)
	spec := workerSpec("cmd", providers.RestartNever)
	spec.Containers[0].Command = []string{"custom-argv0", "-exit-after=10ms"}
	spec.Containers[0].Args = []string{"-exit-code=7"}
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	st := waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool { return st.Phase == providers.PhaseFailed })
	if st.Containers[0].ExitCode != 7 {
		t.Fatalf("exit code %d, want 7 (command[1:] then args)", st.Containers[0].ExitCode)
	}
}

func TestWorkingDir(t *testing.T) {
	tests := []struct {
		name   string
		dir    string
		phase  providers.Phase
		reason string
	}{
		{name: "existing", dir: t.TempDir(), phase: providers.PhaseRunning},
		{name: "missing", dir: "/nonexistent/surge", phase: providers.PhaseFailed, reason: "StartError"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, _ := newBackend(t)
			spec := workerSpec("wd", providers.RestartNever)
			spec.Containers[0].WorkingDir = tc.dir
			if err := b.Create(context.Background(), spec); err != nil {
				t.Fatal(err)
			}
			st := waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool { return st.Phase == tc.phase })
			if st.Containers[0].Reason != tc.reason {
				t.Fatalf("reason %q, want %q", st.Containers[0].Reason, tc.reason)
			}
		})
	}
}

func TestSimulatedStartDelay(t *testing.T) {
	b, _ := newBackend(t, func(o *local.Options) { o.SimulatedStartDelay = 600 * time.Millisecond })
	spec := workerSpec("slow", providers.RestartAlways)
	start := time.Now()
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	list, _ := b.List(context.Background())
	if len(list) != 1 || list[0].Phase != providers.PhasePending || list[0].Reason != "SimulatedStartDelay" {
		t.Fatalf("right after Create: %+v, want Pending with reason SimulatedStartDelay", list)
	}
	waitStatus(t, b, spec.Ref.UID, running)
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Fatalf("Running after %v, before the simulated delay", d)
	}
}

func TestCreateRejects(t *testing.T) {
	b, _ := newBackend(t)
	tests := []struct {
		name string
		mut  func(*providers.InstanceSpec)
		want string
	}{
		{name: "unmapped image", mut: func(s *providers.InstanceSpec) { s.Containers[0].Image = "nginx:1.27" }, want: `image "nginx:1.27"`},
		{name: "missing executable", mut: func(s *providers.InstanceSpec) { s.Containers[0].Image = "ghcr.io/x/missing" }, want: "not an executable"},
		{name: "no containers", mut: func(s *providers.InstanceSpec) { s.Containers = nil }, want: "no containers"},
		{name: "bad uid", mut: func(s *providers.InstanceSpec) { s.Ref.UID = "../../etc" }, want: "UID"},
		{name: "repeated container", mut: func(s *providers.InstanceSpec) { s.Containers = append(s.Containers, s.Containers[0]) }, want: "repeated"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := workerSpec("rej", providers.RestartAlways)
			tc.mut(s)
			err := b.Create(context.Background(), s)
			if !providers.IsUnsupported(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create = %v, want Unsupported mentioning %q", err, tc.want)
			}
		})
	}
}

func TestLogsTail(t *testing.T) {
	b, _ := newBackend(t)
	spec := &providers.InstanceSpec{Ref: ref("tail"), RestartPolicy: providers.RestartNever,
		Containers: []providers.ContainerSpec{{Name: "w", Image: "sh", Args: []string{"-c", "for i in 1 2 3 4 5; do echo line$i; done"}}}}
	if err := b.Create(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, b, spec.Ref.UID, func(st providers.InstanceStatus) bool { return st.Phase == providers.PhaseSucceeded })
	tests := []struct {
		tail int
		want string
	}{
		{0, "line1\nline2\nline3\nline4\nline5\n"}, {2, "line4\nline5\n"}, {5, "line1\nline2\nline3\nline4\nline5\n"}, {9, "line1\nline2\nline3\nline4\nline5\n"},
	}
	for _, tc := range tests {
		if got := readLog(t, b, spec.Ref, providers.LogOptions{Tail: tc.tail}); got != tc.want {
			t.Errorf("tail %d = %q, want %q", tc.tail, got, tc.want)
		}
	}
}

func TestStartupCleansOrphansAndFinishesDeletes(t *testing.T) {
	requireCgroups(t)
	b, o := newBackend(t)
	ctx := context.Background()
	for _, n := range []string{"keep", "gone"} {
		if err := b.Create(ctx, workerSpec(n, providers.RestartAlways, "orphan-marker-"+n)); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, b, "uid-"+n, running)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	// "gone": its state file is lost, its process remains in its cgroup.
	if err := os.Remove(filepath.Join(o.Dir, "pods", "uid-gone", "state.json")); err != nil {
		t.Fatal(err)
	}
	// "keep": a crash interrupted its deletion.
	sf := filepath.Join(o.Dir, "pods", "uid-keep", "state.json")
	data, _ := os.ReadFile(sf)
	if err := os.WriteFile(sf, []byte(strings.Replace(string(data), `"version":1,`, `"version":1,"deleting":true,`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	b2, err := local.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeClean(t, b2) })
	deadline := time.Now().Add(10 * time.Second)
	for processesWith(t, "orphan-marker-") > 0 || b2Len(t, b2) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after restart: %d orphan processes, %d instances", processesWith(t, "orphan-marker-"), b2Len(t, b2))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if entries, _ := os.ReadDir(filepath.Join(o.Dir, "pods")); len(entries) != 0 {
		t.Fatalf("%d instance directories left", len(entries))
	}
}

func b2Len(t *testing.T, b *local.Backend) int {
	list, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}
