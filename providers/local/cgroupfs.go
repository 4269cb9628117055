package local

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// mountPoint is where a cgroup hierarchy is mounted: point is the directory,
// root the hierarchy path that directory shows.
type mountPoint struct {
	point, root string
}

// dir returns the directory of hierarchy path self/parent (parent taken from the
// hierarchy root when absolute).
func (m mountPoint) dir(self, parent string) string {
	p := parent
	if !filepath.IsAbs(p) {
		p = filepath.Join(self, parent)
	}
	rel := p
	if m.root != "/" {
		rel = strings.TrimPrefix(p, m.root)
	}
	return filepath.Join(m.point, rel)
}

// v1Controllers are the cgroup v1 controller names, told apart from the mount
// options that share the super-block option list.
var v1Controllers = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true, "freezer": true,
	"net_cls": true, "net_prio": true, "blkio": true, "perf_event": true, "hugetlb": true, "pids": true,
	"rdma": true, "misc": true,
}

// cgroupMounts maps each v1 controller to its mount, and "" to the v2 mount.
func cgroupMounts() (map[string]mountPoint, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	defer f.Close()
	return parseMountInfo(bufio.NewScanner(f))
}

func parseMountInfo(sc *bufio.Scanner) (map[string]mountPoint, error) {
	out := map[string]mountPoint{}
	for sc.Scan() {
		left, right, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		lf, rf := strings.Fields(left), strings.Fields(right)
		if len(lf) < 5 || len(rf) < 3 {
			continue
		}
		m := mountPoint{point: unescapeMount(lf[4]), root: unescapeMount(lf[3])}
		switch rf[0] {
		case "cgroup2":
			if _, dup := out[""]; !dup {
				out[""] = m
			}
		case "cgroup":
			for _, opt := range strings.Split(rf[2], ",") {
				if !v1Controllers[opt] {
					continue // mount options and named hierarchies
				}
				if _, dup := out[opt]; !dup {
					out[opt] = m
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	if len(out) == 0 {
		return nil, errors.New("no cgroup filesystem mounted")
	}
	return out, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// selfCgroups maps each v1 controller of this process to its cgroup path, and ""
// to its v2 path.
func selfCgroups() (map[string]string, error) {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("read own cgroups: %w", err)
	}
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			out[""] = parts[2]
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out, nil
}
