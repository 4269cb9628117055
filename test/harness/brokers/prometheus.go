package brokers

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

const promInstall = "apt-get install -y --no-install-recommends prometheus"

// Prometheus is a private Prometheus server on 127.0.0.1 scraping given targets
// every second.
type Prometheus struct {
	// URL is http://127.0.0.1:PORT.
	URL string
	// Dir holds the config, the TSDB and prometheus.log.
	Dir string

	bin    string
	port   int
	ownDir bool
	mu     sync.Mutex
	p      *proc
}

// StartPrometheus starts Prometheus under dir (a new temporary directory, removed by
// Stop, if dir is "") scraping scrapeTargets (host:port, path /metrics) every second,
// and waits until it is ready.
func StartPrometheus(ctx context.Context, dir string, scrapeTargets []string) (*Prometheus, error) {
	bin, err := lookBinary("prometheus", promInstall)
	if err != nil {
		return nil, err
	}
	pr := &Prometheus{Dir: dir, bin: bin}
	if dir == "" {
		if pr.Dir, err = os.MkdirTemp("", "surge-prometheus-"); err != nil {
			return nil, err
		}
		pr.ownDir = true
	}
	if pr.port, err = harness.FreePort(); err != nil {
		return nil, err
	}
	pr.URL = fmt.Sprintf("http://127.0.0.1:%d", pr.port)
	quoted := make([]string, len(scrapeTargets))
	for i, t := range scrapeTargets {
		quoted[i] = strconv.Quote(t)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: surge-test
    static_configs:
      - targets: [%s]
`, strings.Join(quoted, ", "))
	if err := os.WriteFile(filepath.Join(pr.Dir, "prometheus.yml"), []byte(conf), 0o600); err != nil {
		return nil, err
	}
	if err := pr.start(ctx); err != nil {
		pr.Stop()
		return nil, err
	}
	return pr, nil
}

func (pr *Prometheus) start(ctx context.Context) error {
	cmd := exec.Command(pr.bin,
		"--config.file="+filepath.Join(pr.Dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(pr.Dir, "data"),
		"--web.listen-address="+fmt.Sprintf("127.0.0.1:%d", pr.port),
		"--log.level=warn")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + pr.Dir}
	cmd.Dir = pr.Dir
	logPath := filepath.Join(pr.Dir, "prometheus.log")
	p, err := startProc(cmd, logPath)
	if err != nil {
		return err
	}
	pr.mu.Lock()
	pr.p = p
	pr.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client := &http.Client{Timeout: time.Second, Transport: noKeepAlive}
	for {
		if p.exited() {
			return fmt.Errorf("prometheus: %w: %v\n%s", errExited, p.err, tail(logPath, 2000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, pr.URL+"/-/ready", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("prometheus not ready: %w\n%s", ctx.Err(), tail(logPath, 2000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Kill SIGKILLs the server, for fault tests. Restart brings it back.
func (pr *Prometheus) Kill() error {
	pr.mu.Lock()
	p := pr.p
	pr.mu.Unlock()
	if p != nil {
		p.kill()
	}
	return nil
}

// Restart stops the server if it runs and starts it again on the same port and data.
func (pr *Prometheus) Restart(ctx context.Context) error {
	pr.mu.Lock()
	p := pr.p
	pr.mu.Unlock()
	if p != nil {
		p.stop(10 * time.Second)
	}
	return pr.start(ctx)
}

// Stop stops the server and removes Dir if StartPrometheus created it.
func (pr *Prometheus) Stop() error {
	pr.mu.Lock()
	p := pr.p
	pr.p = nil
	pr.mu.Unlock()
	if p != nil {
		p.stop(10 * time.Second)
	}
	if pr.ownDir {
		return os.RemoveAll(pr.Dir)
	}
	return nil
}
