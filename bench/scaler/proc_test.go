package scalerbench

import (
	"bufio"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// clkTck is USER_HZ: /proc CPU times are in these ticks (100 on Linux).
const clkTck = 100

// cpuSeconds returns the user+system CPU time a process used so far.
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // after "pid (comm) "
	ut, _ := strconv.ParseFloat(f[11], 64)                   // field 14
	st, _ := strconv.ParseFloat(f[12], 64)                   // field 15
	return (ut + st) / clkTck, nil
}

// rssMiB returns a process's resident set size.
func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS for %d", pid)
}

// cpuOver measures the CPU cores a process used over d.
func cpuOver(pid int, d time.Duration) (float64, error) {
	c0, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(d)
	c1, err := cpuSeconds(pid)
	if err != nil {
		return 0, err
	}
	return (c1 - c0) / time.Since(t0).Seconds(), nil
}

// childWithArg finds a child of parent whose command line contains arg.
func childWithArg(parent int, arg string) (int, error) {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if ppid, _ := strconv.Atoi(f[1]); ppid != parent {
			continue
		}
		cmd, _ := os.ReadFile(d + "/cmdline")
		if strings.Contains(string(cmd), arg) {
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no child of %d running %s", parent, arg)
}

// histogram is a Prometheus histogram scraped from /metrics.
type histogram struct {
	buckets map[float64]float64 // le → cumulative count
	count   float64
}

// scrapeHistogram reads one histogram family from a /metrics endpoint.
func scrapeHistogram(url, name string) (histogram, error) {
	resp, err := http.Get(url)
	if err != nil {
		return histogram{}, err
	}
	defer resp.Body.Close()
	h := histogram{buckets: map[float64]float64{}}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, name+"_bucket{"):
			i := strings.Index(line, `le="`)
			j := strings.Index(line[i+4:], `"`)
			le, _ := strconv.ParseFloat(line[i+4:i+4+j], 64)
			if line[i+4:i+4+j] == "+Inf" {
				le = math.Inf(1)
			}
			f := strings.Fields(line)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			h.buckets[le] = v
		case strings.HasPrefix(line, name+"_count"):
			f := strings.Fields(line)
			h.count, _ = strconv.ParseFloat(f[len(f)-1], 64)
		}
	}
	return h, sc.Err()
}

// quantile returns the upper bound of the bucket holding quantile q of the samples
// observed between a and b.
func quantile(a, b histogram, q float64) float64 {
	n := b.count - a.count
	if n <= 0 {
		return math.NaN()
	}
	les := make([]float64, 0, len(b.buckets))
	for le := range b.buckets {
		les = append(les, le)
	}
	sort.Float64s(les)
	for _, le := range les {
		if b.buckets[le]-a.buckets[le] >= q*n {
			return le
		}
	}
	return math.Inf(1)
}

// scrapeGauge reads the first sample of a gauge family from a /metrics endpoint.
func scrapeGauge(url, name string) (float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+" ") || strings.HasPrefix(line, name+"{") {
			f := strings.Fields(line)
			return strconv.ParseFloat(f[len(f)-1], 64)
		}
	}
	return 0, fmt.Errorf("%s not found", name)
}
