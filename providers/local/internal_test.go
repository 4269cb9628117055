package local

import (
	"bufio"
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

func TestImageMapResolve(t *testing.T) {
	im, err := ParseImageMap([]byte(`
ghcr.io/acme/worker: /opt/worker
"ghcr.io/acme/worker:debug": /opt/worker-debug
localhost:5000/tool: /opt/tool
busybox@sha256:abc: /bin/busybox
`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		image, want string
		ok          bool
	}{
		{"ghcr.io/acme/worker", "/opt/worker", true},
		{"ghcr.io/acme/worker:1.2", "/opt/worker", true},
		{"ghcr.io/acme/worker:debug", "/opt/worker-debug", true},
		{"ghcr.io/acme/worker@sha256:ff", "/opt/worker", true},
		{"localhost:5000/tool:v1", "/opt/tool", true},
		{"localhost:5000/tool", "/opt/tool", true},
		{"localhost:5001/tool", "", false},
		{"busybox@sha256:abc", "/bin/busybox", true},
		{"busybox", "", false},
		{"ghcr.io/acme/worke", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			got, ok := im.Resolve(tc.image)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("Resolve(%q) = %q, %v; want %q, %v", tc.image, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseImageMapErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"relative path", "a: bin/a", "not absolute"},
		{"not a map", "- a\n- b", "mapping"},
		{"nested value", "a: {b: c}", "mapping"},
		{"space in image", `"a b": /x`, "invalid image"},
		{"duplicate key", "a: /x\na: /y", "mapping"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseImageMap([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseImageMap(%q) = %v, want error with %q", tc.in, err, tc.want)
			}
		})
	}
	if im, err := ParseImageMap([]byte("  \n")); err != nil || len(im.Images()) != 0 {
		t.Fatalf("empty map: %v, %v", im, err)
	}
}

func FuzzParseImageMap(f *testing.F) {
	for _, s := range []string{"a: /x", `{"a:1": "/b"}`, "x@sha256:1: /y", "", "a: b", "- 1", "a:\n  b: c", "\x00: /\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		im, err := ParseImageMap([]byte(in))
		if err != nil {
			return
		}
		for _, img := range im.Images() {
			p, ok := im.Resolve(img)
			if !ok || !strings.HasPrefix(p, "/") {
				t.Fatalf("mapped image %q resolves to %q, %v", img, p, ok)
			}
		}
	})
}

func TestRepository(t *testing.T) {
	tests := map[string]string{
		"a":                          "a",
		"a:1":                        "a",
		"host:5000/a/b:tag@sha256:x": "host:5000/a/b",
		"host:5000/a":                "host:5000/a",
		"a@sha256:x":                 "a",
	}
	for in, want := range tests {
		if got := repository(in); got != want {
			t.Errorf("repository(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMountInfo(t *testing.T) {
	in := `25 30 0:23 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:24 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu
27 25 0:25 /kubepods /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
28 25 0:26 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
29 25 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate
30 25 0:28 / /sys/fs/cgroup/cpu\040acct rw - cgroup cgroup rw,cpuacct
`
	m, err := parseMountInfo(bufio.NewScanner(strings.NewReader(in)))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]mountPoint{
		"cpu":     {point: "/sys/fs/cgroup/cpu", root: "/"},
		"memory":  {point: "/sys/fs/cgroup/memory", root: "/kubepods"},
		"":        {point: "/sys/fs/cgroup/unified", root: "/"},
		"cpuacct": {point: "/sys/fs/cgroup/cpu acct", root: "/"},
	}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%q: got %+v, want %+v", k, m[k], v)
		}
	}
	if got := m["memory"].dir("/kubepods/pod1", "surge-local/x"); got != "/sys/fs/cgroup/memory/pod1/surge-local/x" {
		t.Errorf("nested dir = %s", got)
	}
	if got := m["cpu"].dir("/a", "/abs"); got != "/sys/fs/cgroup/cpu/abs" {
		t.Errorf("absolute parent dir = %s", got)
	}
}

func TestParseStat(t *testing.T) {
	line := "1234 (a (weird) name) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 987654 1000 100"
	ticks, state, err := parseStat(line)
	if err != nil || ticks != 987654 || state != "S" {
		t.Fatalf("parseStat = %d %q %v", ticks, state, err)
	}
	if _, _, err := parseStat("12 (x) S 1"); err == nil {
		t.Fatal("short stat accepted")
	}
}

func TestLimitFiles(t *testing.T) {
	req := providers.ResourceList{MilliCPU: 250}
	lim := providers.ResourceList{MilliCPU: 500, MemoryBytes: 64 << 20}
	tests := []struct {
		mode CgroupMode
		ctrl string
		want map[string]string
	}{
		{CgroupV1, "memory", map[string]string{"memory.limit_in_bytes": "67108864"}},
		{CgroupV1, "cpu", map[string]string{"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "50000", "cpu.shares": "256"}},
		{CgroupV2, "", map[string]string{"memory.max": "67108864", "cpu.max": "50000 100000", "cpu.weight": "10"}},
	}
	for _, tc := range tests {
		t.Run(string(tc.mode)+"/"+tc.ctrl, func(t *testing.T) {
			got := limitFiles(tc.mode, tc.ctrl, req, lim)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q", k, got[k], v)
				}
			}
		})
	}
	if got := limitFiles(CgroupV1, "cpu", providers.ResourceList{}, providers.ResourceList{MilliCPU: 1}); got["cpu.cfs_quota_us"] != "1000" {
		t.Errorf("tiny CPU limit quota = %q, want the 1 ms floor", got["cpu.cfs_quota_us"])
	}
}

func TestStatusOf(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	spec := &providers.InstanceSpec{Ref: providers.InstanceRef{Namespace: "n", Name: "p", UID: "u"}}
	running := containerState{Name: "a", State: providers.ContainerRunning, StartedAt: now}
	doneOK := containerState{Name: "b", State: providers.ContainerTerminated, Done: true, StartedAt: now}
	doneBad := containerState{Name: "c", State: providers.ContainerTerminated, Done: true, ExitCode: 2, StartedAt: now}
	backoff := containerState{Name: "d", State: providers.ContainerWaiting, Reason: "CrashLoopBackOff", StartedAt: now}
	fresh := containerState{Name: "e", State: providers.ContainerWaiting, Reason: "ContainerCreating"}
	tests := []struct {
		name    string
		cs      []containerState
		startAt time.Time
		phase   providers.Phase
		reason  string
		ip      string
	}{
		{"not started", []containerState{fresh}, now, providers.PhasePending, "", ""},
		{"simulated delay", []containerState{fresh}, now.Add(time.Second), providers.PhasePending, "SimulatedStartDelay", ""},
		{"running", []containerState{running}, now, providers.PhaseRunning, "", "127.0.0.1"},
		{"one done one running", []containerState{doneOK, running}, now, providers.PhaseRunning, "", "127.0.0.1"},
		{"in back-off", []containerState{backoff}, now, providers.PhaseRunning, "", "127.0.0.1"},
		{"all succeeded", []containerState{doneOK, doneOK}, now, providers.PhaseSucceeded, "Completed", ""},
		{"one failed", []containerState{doneOK, doneBad}, now, providers.PhaseFailed, "Error", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := statusOf(&podState{Spec: spec, CreatedAt: now, StartAt: tc.startAt, Containers: tc.cs}, now, "127.0.0.1")
			if st.Phase != tc.phase || st.Reason != tc.reason || st.IP != tc.ip || len(st.Containers) != len(tc.cs) {
				t.Fatalf("got %+v; want phase %s reason %q ip %q", st, tc.phase, tc.reason, tc.ip)
			}
		})
	}
}
