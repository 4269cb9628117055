package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/surge-autoscaler/surge/providers"
)

// CgroupMode selects how container limits are enforced.
type CgroupMode string

// Cgroup modes.
const (
	// CgroupAuto uses cgroup v1 when its cpu and memory controllers are mounted,
	// else cgroup v2 when the unified hierarchy offers cpu and memory, else none
	// (limits are then not enforced, and New logs that once).
	CgroupAuto CgroupMode = "auto"
	CgroupV1   CgroupMode = "v1"
	CgroupV2   CgroupMode = "v2"
	CgroupOff  CgroupMode = "off"
)

// cfsPeriod is the CFS period used for CPU limits, as the kubelet uses.
const cfsPeriod = 100_000

// cgroupRoot holds the parent cgroups under which each container gets its own.
type cgroupRoot struct {
	mode CgroupMode
	// v1: controller ("cpu", "memory") → parent directory. v2: "" → parent.
	parents map[string]string
}

// cgroup is one container's cgroup: one directory per v1 controller, or one v2
// directory.
type cgroup struct {
	v2   bool
	dirs []string
}

// detectCgroups finds the hierarchy to use. parent is the name of the directory
// created under the backend's own cgroup (v1) or under the hierarchy root (v2);
// an absolute parent is taken from the hierarchy root in both cases.
func detectCgroups(mode CgroupMode, parent string) (*cgroupRoot, error) {
	if mode == "" {
		mode = CgroupAuto
	}
	if mode == CgroupOff {
		return &cgroupRoot{mode: CgroupOff}, nil
	}
	mounts, err := cgroupMounts()
	if err != nil {
		if mode == CgroupAuto {
			return &cgroupRoot{mode: CgroupOff}, nil
		}
		return nil, err
	}
	self, err := selfCgroups()
	if err != nil {
		return nil, err
	}
	if mode == CgroupAuto || mode == CgroupV1 {
		cpu, okc := mounts["cpu"]
		mem, okm := mounts["memory"]
		if okc && okm {
			r := &cgroupRoot{mode: CgroupV1, parents: map[string]string{}}
			for ctrl, m := range map[string]mountPoint{"cpu": cpu, "memory": mem} {
				r.parents[ctrl] = m.dir(self[ctrl], parent)
			}
			return r, r.ensureParents()
		}
		if mode == CgroupV1 {
			return nil, errors.New("cgroup v1: cpu and memory controllers are not both mounted")
		}
	}
	if m, ok := mounts[""]; ok {
		ctrls, _ := os.ReadFile(filepath.Join(m.point, "cgroup.controllers"))
		if hasWords(string(ctrls), "cpu", "memory") {
			p := parent
			if !filepath.IsAbs(p) {
				p = "/" + p
			}
			r := &cgroupRoot{mode: CgroupV2, parents: map[string]string{"": m.dir("/", p)}}
			return r, r.ensureParents()
		}
		if mode == CgroupV2 {
			return nil, errors.New("cgroup v2: the unified hierarchy does not offer both cpu and memory")
		}
	}
	if mode != CgroupAuto {
		return nil, fmt.Errorf("cgroup %s: not available here", mode)
	}
	return &cgroupRoot{mode: CgroupOff}, nil
}

func (r *cgroupRoot) ensureParents() error {
	for _, p := range r.parents {
		if err := os.MkdirAll(p, 0o755); err != nil {
			return fmt.Errorf("create parent cgroup: %w", err)
		}
		if r.mode == CgroupV2 {
			if err := enableV2Controllers(p); err != nil {
				return err
			}
		}
	}
	return nil
}

// enableV2Controllers enables cpu and memory for p's children, on every level
// from the hierarchy root down to p.
func enableV2Controllers(p string) error {
	var chain []string
	for d := p; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "cgroup.controllers")); err != nil {
			break
		}
		chain = append([]string{d}, chain...)
		if d == "/" {
			break
		}
	}
	for _, d := range chain {
		f := filepath.Join(d, "cgroup.subtree_control")
		if err := os.WriteFile(f, []byte("+cpu +memory"), 0o644); err != nil && d == p {
			return fmt.Errorf("enable cpu and memory controllers in %s: %w", d, err)
		}
	}
	return nil
}

// cgroupName is the directory of one container's cgroup under the parent:
// <pod uid>_<container>. The layout is flat because creating a memory cgroup
// costs the kernel about 20 ms (an RCU grace period), and a pod level would
// double that on every create.
func cgroupName(uid, container string) string { return uid + "_" + container }

// cgroupUID returns the pod UID of a cgroup directory name.
func cgroupUID(name string) (string, bool) {
	uid, _, ok := strings.Cut(name, "_")
	return uid, ok
}

// create makes the cgroup of one container and writes its limits.
func (r *cgroupRoot) create(uid, name string, req, lim providers.ResourceList) (*cgroup, error) {
	if r == nil || r.mode == CgroupOff {
		return nil, nil
	}
	cg := &cgroup{v2: r.mode == CgroupV2}
	for ctrl, parent := range r.parents {
		dir := filepath.Join(parent, cgroupName(uid, name))
		// MkdirAll: an operator may have removed the (empty) parent meanwhile.
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create cgroup: %w", err)
		}
		cg.dirs = append(cg.dirs, dir)
		for file, val := range limitFiles(r.mode, ctrl, req, lim) {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(val), 0o644); err != nil {
				return nil, fmt.Errorf("cgroup %s=%s: %w", file, val, err)
			}
		}
	}
	return cg, nil
}

// limitFiles returns the control files and values for a container's resources.
func limitFiles(mode CgroupMode, ctrl string, req, lim providers.ResourceList) map[string]string {
	out := map[string]string{}
	shares := int64(0)
	if req.MilliCPU > 0 {
		shares = max(req.MilliCPU*1024/1000, 2)
	}
	switch {
	case mode == CgroupV1 && ctrl == "memory":
		if lim.MemoryBytes > 0 {
			out["memory.limit_in_bytes"] = strconv.FormatInt(lim.MemoryBytes, 10)
		}
	case mode == CgroupV1 && ctrl == "cpu":
		if lim.MilliCPU > 0 {
			out["cpu.cfs_period_us"] = strconv.Itoa(cfsPeriod)
			out["cpu.cfs_quota_us"] = strconv.FormatInt(max(lim.MilliCPU*cfsPeriod/1000, 1000), 10)
		}
		if shares > 0 {
			out["cpu.shares"] = strconv.FormatInt(shares, 10)
		}
	case mode == CgroupV2:
		if lim.MemoryBytes > 0 {
			out["memory.max"] = strconv.FormatInt(lim.MemoryBytes, 10)
		}
		if lim.MilliCPU > 0 {
			out["cpu.max"] = fmt.Sprintf("%d %d", max(lim.MilliCPU*cfsPeriod/1000, 1000), cfsPeriod)
		}
		if shares > 0 {
			out["cpu.weight"] = strconv.FormatInt(1+((shares-2)*9999)/262142, 10)
		}
	}
	return out
}

// openCgroup rebuilds a cgroup handle from directories recorded in the state.
func openCgroup(dirs []string, v2 bool) *cgroup {
	if len(dirs) == 0 {
		return nil
	}
	return &cgroup{v2: v2, dirs: append([]string(nil), dirs...)}
}

// start starts cmd inside the cgroup, so the process and everything it forks are
// limited from their first instruction. v2 uses CLONE_INTO_CGROUP. v1 has no such
// flag: a goroutine locks its OS thread, moves that thread into the cgroup (v1
// membership is per thread and inherited on fork) and forks from it; the thread
// is never unlocked, so the runtime destroys it when the goroutine ends.
func (c *cgroup) start(start func() error, setFD func(fd int)) error {
	if c == nil {
		return start()
	}
	if c.v2 {
		fd, err := unix.Open(c.dirs[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("open cgroup: %w", err)
		}
		defer unix.Close(fd)
		setFD(fd)
		return start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		tid := strconv.Itoa(unix.Gettid())
		home, err := threadCgroups(c.dirs)
		if err != nil {
			errc <- err
			return
		}
		for _, d := range c.dirs {
			if err := os.WriteFile(filepath.Join(d, "tasks"), []byte(tid), 0o644); err != nil {
				errc <- fmt.Errorf("join cgroup: %w", err)
				return
			}
		}
		err = start()
		// Leave at once: while this thread is in the container's cgroup, the
		// backend's process shows in it (and an OOM kill there could pick it).
		for _, d := range home {
			_ = os.WriteFile(filepath.Join(d, "tasks"), []byte(tid), 0o644)
		}
		errc <- err
	}()
	return <-errc
}

// threadCgroups returns, for each of dirs, the cgroup directory of the same
// hierarchy that the calling thread is in now.
func threadCgroups(dirs []string) ([]string, error) {
	data, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read thread cgroups: %w", err)
	}
	mounts, err := cgroupMounts()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			m, ok := mounts[ctrl]
			if !ok || ctrl == "" {
				continue
			}
			for _, d := range dirs {
				if strings.HasPrefix(d, m.point+"/") {
					out = append(out, m.dir(parts[2], "."))
					break
				}
			}
		}
	}
	return out, nil
}

// pids lists the processes in the cgroup, never this process itself (the thread
// that forks a container passes through its cgroup).
func (c *cgroup) pids() []int {
	if c == nil {
		return nil
	}
	seen := map[int]bool{}
	var out []int
	for _, d := range c.dirs {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(data)) {
			if pid, err := strconv.Atoi(f); err == nil && !seen[pid] && pid != os.Getpid() {
				seen[pid] = true
				out = append(out, pid)
			}
		}
	}
	return out
}

// signal sends sig to every process in the cgroup.
func (c *cgroup) signal(sig syscall.Signal) {
	for _, pid := range c.pids() {
		_ = syscall.Kill(pid, sig)
	}
}

// oomKills returns the memory controller's OOM kill count, or -1 if unknown.
func (c *cgroup) oomKills() int64 {
	if c == nil {
		return -1
	}
	for _, d := range c.dirs {
		for _, f := range []string{"memory.oom_control", "memory.events"} {
			if data, err := os.ReadFile(filepath.Join(d, f)); err == nil {
				if n, ok := keyedValue(string(data), "oom_kill"); ok {
					return n
				}
			}
		}
	}
	return -1
}

// remove deletes the cgroup directories, retrying briefly while the kernel
// finishes tearing down the tasks.
func (c *cgroup) remove() error {
	if c == nil {
		return nil
	}
	var last error
	for _, d := range c.dirs {
		last = nil
		for range 50 {
			err := os.Remove(d)
			if err == nil || errors.Is(err, os.ErrNotExist) {
				last = nil
				break
			}
			last = err
			c.signal(syscall.SIGKILL)
			time.Sleep(20 * time.Millisecond)
		}
	}
	if last != nil {
		return fmt.Errorf("remove cgroup: %w", last)
	}
	return nil
}

func keyedValue(text, key string) (int64, bool) {
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == key {
			n, err := strconv.ParseInt(f[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

func hasWords(s string, words ...string) bool {
	have := map[string]bool{}
	for _, w := range strings.Fields(s) {
		have[w] = true
	}
	for _, w := range words {
		if !have[w] {
			return false
		}
	}
	return true
}
