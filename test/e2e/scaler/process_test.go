package scalere2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/test/harness"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// scalerBinary builds cmd/surge-scaler once per test run into a temp dir.
func scalerBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "surge-scaler-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "surge-scaler")
		start := time.Now()
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/surge-scaler")
		cmd.Dir = env.root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/surge-scaler: %v\n%s", err, out)
			return
		}
		fmt.Fprintf(os.Stderr, "e2e/scaler: built surge-scaler in %s\n", time.Since(start).Round(time.Second))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a surge-scaler process driven through --fake-trigger-dir.
type proc struct {
	name          string
	cmd           *exec.Cmd
	started       time.Time
	health, stats int
	exited        chan struct{}
}

// startScaler starts surge-scaler watching ns, with fake triggers read from dir.
func startScaler(t *testing.T, name, ns, dir string, extra ...string) *proc {
	t.Helper()
	bin := scalerBinary(t)
	health, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	stats, err := harness.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{
		"--kubeconfig=" + env.cluster.Kubeconfig,
		"--watch-namespaces=" + ns, "--cluster-object-namespace=" + ns,
		"--leader-election-namespace=" + ns,
		"--metrics-api=false",
		"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(stats),
		"--health-probe-bind-address=127.0.0.1:" + strconv.Itoa(health),
		"--fake-trigger-dir=" + dir, "-v=2",
	}, extra...)
	logf, err := os.Create(filepath.Join(env.cluster.Dir, fmt.Sprintf("surge-scaler-%s-%d.log", name, time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{name: name, cmd: exec.Command(bin, args...), health: health, stats: stats, exited: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(p.kill)
	return p
}

// kill sends SIGKILL and waits for the process to die.
func (p *proc) kill() {
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// ready reports whether /readyz answers 200 (with --leader-elect: is the leader).
func (p *proc) ready() bool {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", p.health))
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// metric sums the samples of a Prometheus series family on /metrics.
func (p *proc) metric(name string) (float64, bool) {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", p.stats))
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sum, found := 0.0, false
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) || (len(line) > len(name) && line[len(name)] != ' ' && line[len(name)] != '{') {
			continue
		}
		f := strings.Fields(line)
		if v, err := strconv.ParseFloat(f[len(f)-1], 64); err == nil {
			sum, found = sum+v, true
		}
	}
	return sum, found
}

func setFake(t *testing.T, dir, name, content string) {
	t.Helper()
	tmp := filepath.Join(dir, "."+name)
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func createNamespace(t *testing.T, ns string) {
	t.Helper()
	create(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
}

// watchReplicas samples a Deployment's replicas every 20 ms until stop is called,
// and returns the samples.
func watchReplicas(t *testing.T, ns, name string) (stop func() []sample) {
	var mu sync.Mutex
	var out []sample
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			n := replicas(t, ns, name)
			mu.Lock()
			out = append(out, sample{time.Now(), n})
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	return func() []sample {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

type sample struct {
	at       time.Time
	replicas int32
}

// firstZero returns the time of the first sample at 0 replicas (zero time if none).
func firstZero(s []sample) time.Time {
	for _, x := range s {
		if x.replicas == 0 {
			return x.at
		}
	}
	return time.Time{}
}
