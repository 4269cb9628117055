package harness

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/surge-autoscaler/surge/test/fixtures"
)

// GoBuild builds the main module's package pkg (such as "./cmd/surge-scaler") into
// dir and returns the binary's path (dir/<last element of pkg>).
func GoBuild(ctx context.Context, dir, pkg string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (needs the go tool): %w\n%s", pkg, err, out)
	}
	return bin, nil
}

// Binary returns the prebuilt binary that $SURGE_<NAME>_BIN names, else GoBuild's.
// NAME is pkg's last element without "surge-", upper-cased, '-' as '_'
// (SURGE_SCALER_BIN for ./cmd/surge-scaler).
func Binary(ctx context.Context, dir, pkg string) (string, error) {
	name := strings.TrimPrefix(filepath.Base(pkg), "surge-")
	if p := os.Getenv("SURGE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_BIN"); p != "" {
		return p, nil
	}
	return GoBuild(ctx, dir, pkg)
}

// Process is a binary a test runs, its output going to a log file.
type Process struct {
	// Cmd is the started command.
	Cmd *exec.Cmd
	// LogPath is the file that receives its stdout and stderr.
	LogPath string

	done chan struct{}
}

// StartProcess starts bin with args, appending its output to logPath, with env added
// to this process's environment. It runs with a parent-death signal, so a test
// binary that is killed takes it along.
func StartProcess(logPath string, env []string, bin string, args ...string) (*Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	p := &Process{Cmd: exec.Command(bin, args...), LogPath: logPath, done: make(chan struct{})}
	p.Cmd.Stdout, p.Cmd.Stderr = logf, logf
	p.Cmd.Env = append(os.Environ(), env...)
	p.Cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.Cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = p.Cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

// StartAsServiceAccount runs bin as ServiceAccount namespace/name, as it runs in a
// pod under that ServiceAccount: it writes the ServiceAccount's kubeconfig into dir,
// starts bin with --kubeconfig=<it> before args and env added to the environment,
// and logs to dir/<binary name>.log.
func (c *Cluster) StartAsServiceAccount(dir, namespace, name string, env []string, bin string, args ...string) (*Process, error) {
	kubeconfig := filepath.Join(dir, name+".kubeconfig")
	if err := c.ServiceAccountKubeconfig(kubeconfig, namespace, name); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, filepath.Base(bin)+".log")
	return StartProcess(logPath, env, bin, append([]string{"--kubeconfig=" + kubeconfig}, args...)...)
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop asks the process to end (SIGTERM) and kills it if it has not after grace. It
// returns once the process has exited; it reports a kill as an error.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM; killed", filepath.Base(p.Cmd.Path), grace)
	}
}

// Kill kills the process (SIGKILL), as a crash would, and waits until it has exited.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// WaitHTTP waits until url answers 200 OK (a health or readiness endpoint of the
// process). It returns at once with an error, including the end of the log, if the
// process exits first.
func (p *Process) WaitHTTP(ctx context.Context, url string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	err := Until(ctx, url+" to answer 200", func(ctx context.Context) string {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	})
	if p.Exited() {
		return fmt.Errorf("%s exited before %s answered 200; its log:\n%s", filepath.Base(p.Cmd.Path), url, p.Log(4000))
	}
	return err
}

// Log returns the end of the process's log, at most max bytes.
func (p *Process) Log(max int) string {
	b, _ := os.ReadFile(p.LogPath)
	if len(b) > max {
		b = append([]byte("[...]\n"), b[len(b)-max:]...)
	}
	return string(bytes.TrimSpace(b))
}

// BuildFixture builds the test program test/fixtures/<name> into a directory of its
// own, removed at exit (see AtExit), and returns the executable's path.
func BuildFixture(name string) (string, error) {
	dir, err := os.MkdirTemp("", "surge-fixture-"+name+"-")
	if err != nil {
		return "", err
	}
	AtExit("fixture "+name, func() error { return os.RemoveAll(dir) })
	return fixtures.Build(dir, name)
}
