package brokers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// kafkaChildEnv marks a test binary re-executed to serve kfake in its own process.
const kafkaChildEnv = "SURGE_KFAKE_CHILD"

// ServeKafkaIfChild must be called first thing in TestMain of a package that uses
// StartKafkaProcess: in the re-executed child it serves kfake until its stdin closes
// and exits; in the parent it returns at once.
func ServeKafkaIfChild() {
	if os.Getenv(kafkaChildEnv) == "" {
		return
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Println("addr:", c.ListenAddrs()[0])
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes away
	c.Close()
	os.Exit(0)
}

// KafkaProcess is kfake serving from a child process, so that benchmarks measure
// the client's CPU and allocations only.
type KafkaProcess struct {
	// Addr is host:port of the broker.
	Addr  string
	p     *proc
	stdin io.WriteCloser
}

// StartKafkaProcess re-executes the running test binary as a kfake server (see
// ServeKafkaIfChild) and returns its address.
func StartKafkaProcess(ctx context.Context) (*KafkaProcess, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), kafkaChildEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "addr: "); ok {
				addr <- a
			}
		}
	}()
	go func() { p.err = cmd.Wait(); close(p.done) }()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	select {
	case a := <-addr:
		return &KafkaProcess{Addr: a, p: p, stdin: stdin}, nil
	case <-p.done:
		return nil, fmt.Errorf("kfake child exited: %v", p.err)
	case <-ctx.Done():
		p.kill()
		return nil, fmt.Errorf("kfake child: %w", ctx.Err())
	}
}

// Stop ends the child.
func (k *KafkaProcess) Stop() error {
	_ = k.stdin.Close()
	k.p.stop(5 * time.Second)
	return nil
}
