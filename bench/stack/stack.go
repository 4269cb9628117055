// Package stack starts Surge's whole local stack for `surge demo` and `surge bench`:
// the embedded Kubernetes control plane (test/harness), a private RabbitMQ node
// (test/harness/brokers), Surge's CRDs, surge-scaler (with its external metrics API
// registered through the aggregator) and surge-vnode with the local backend running
// the bench worker. Everything listens on 127.0.0.1 and lives under one directory;
// Stop ends every process the stack started and nothing else.
package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// Options configure Start.
type Options struct {
	// Dir holds everything (logs, certificates, state). Default: a new temporary
	// directory, removed by Stop unless Keep.
	Dir  string
	Keep bool
	// Root is the repository (for the CRDs and the control plane's sources). Default:
	// found upwards from the working directory.
	Root string
	// BinDir holds surge-scaler, surge-vnode and bench-worker (`make build`).
	// Default: the directory of the running executable if it holds them, else
	// Root/bin.
	BinDir string
	// HPASyncPeriod and HPADownscaleStabilization configure the HPA controller
	// (defaults 1 s and 0 s).
	HPASyncPeriod             time.Duration
	HPADownscaleStabilization time.Duration
	// StartDelay is the local backend's simulated cold start (0: off).
	StartDelay time.Duration
	// WorkerImage is mapped to BinDir/bench-worker by the local backend.
	WorkerImage string
	// WithoutScaler leaves surge-scaler out: to measure another autoscaler (e.g.
	// KEDA installed by the caller) on the same stack, or to test the rest alone.
	WithoutScaler bool
	// Log receives progress lines (the long steps report while they run).
	Log io.Writer
}

// Stack is the running local stack.
type Stack struct {
	Dir        string
	Cluster    *harness.Cluster
	Rabbit     *brokers.RabbitMQ
	Kube       *rest.Config
	AMQPURL    string
	VnodeState string
	Options    Options

	log    io.Writer
	scaler *proc
	vnode  *proc
	own    bool
	once   sync.Once
}

// Start brings the stack up. On error everything already started is stopped.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	if err := o.checkBinaries(); err != nil {
		return nil, err
	}
	if os.Getenv("SURGE_CONTROLPLANE_SRC") == "" {
		// The harness finds the control plane's sources from its own file path, which
		// a -trimpath build does not have; tell it where the repository is.
		_ = os.Setenv("SURGE_CONTROLPLANE_SRC", filepath.Join(o.Root, "test", "controlplane"))
	}
	s := &Stack{Dir: o.Dir, Options: o, log: o.Log}
	if s.Dir == "" {
		if s.Dir, err = os.MkdirTemp("", "surge-demo-"); err != nil {
			return nil, err
		}
		s.own = true
	}
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	s.logf("stack: everything lives under %s (logs in %s)", s.Dir, filepath.Join(s.Dir, "logs"))
	if err := s.startClusterAndRabbit(ctx); err != nil {
		return nil, err
	}
	if err := s.installCRDs(ctx); err != nil {
		return nil, err
	}
	if !o.WithoutScaler {
		if err := s.StartScaler(ctx); err != nil {
			return nil, err
		}
	}
	if err := s.startVnode(ctx); err != nil {
		return nil, err
	}
	s.logf("stack: ready")
	return s, nil
}

// setDefaults fills in the options left unset.
func (o *Options) setDefaults() error {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.HPASyncPeriod == 0 {
		o.HPASyncPeriod = time.Second
	}
	if o.WorkerImage == "" {
		o.WorkerImage = "surge.dev/bench-worker:latest"
	}
	if o.Root == "" {
		root, err := FindRoot()
		if err != nil {
			return err
		}
		o.Root = root
	}
	if o.BinDir == "" {
		o.BinDir = defaultBinDir(o.Root)
	}
	return nil
}

// checkBinaries reports the first program the stack runs that BinDir lacks.
func (o *Options) checkBinaries() error {
	bins := []string{"surge-vnode", "bench-worker"}
	if !o.WithoutScaler {
		bins = append(bins, "surge-scaler")
	}
	for _, b := range bins {
		if st, err := os.Stat(filepath.Join(o.BinDir, b)); err != nil || st.IsDir() {
			return fmt.Errorf("%s not found in %s: run `make build` first (or pass --bin-dir)", b, o.BinDir)
		}
	}
	return nil
}

// startClusterAndRabbit starts the control plane and RabbitMQ, the slow steps, at
// once and waits for both.
func (s *Stack) startClusterAndRabbit(ctx context.Context) error {
	o := s.Options
	var wg sync.WaitGroup
	var cpErr, rbErr error
	wg.Go(func() {
		s.logf("stack: starting the control plane (HPA sync period %v, said so in every report)", o.HPASyncPeriod)
		s.Cluster, cpErr = harness.StartCluster(ctx, harness.ClusterOptions{
			HPASyncPeriod: o.HPASyncPeriod, HPADownscaleStabilization: o.HPADownscaleStabilization,
			Dir: filepath.Join(s.Dir, "cluster"), Log: prefixWriter{w: o.Log, prefix: "  "},
		})
	})
	wg.Go(func() {
		s.logf("stack: starting a private RabbitMQ node (12-19 s on a quiet machine)")
		start := time.Now()
		s.Rabbit, rbErr = brokers.StartRabbitMQ(ctx, filepath.Join(s.Dir, "rabbitmq"))
		if rbErr == nil {
			s.logf("stack: RabbitMQ ready in %v on 127.0.0.1:%d", time.Since(start).Round(100*time.Millisecond), s.Rabbit.AMQPPort)
		}
	})
	stopTicker := s.ticker("control plane and RabbitMQ")
	wg.Wait()
	stopTicker()
	if err := errors.Join(cpErr, rbErr); err != nil {
		return err
	}
	s.Kube, s.AMQPURL = s.Cluster.Config, s.Rabbit.AMQPURL
	return nil
}

// Stop ends everything the stack started, in reverse order: surge-vnode and the
// worker processes it left for re-adoption, surge-scaler, RabbitMQ, the control
// plane. It removes Dir if Start created it and Keep is off.
func (s *Stack) Stop() {
	s.once.Do(func() {
		s.logf("stack: stopping")
		if s.vnode != nil {
			s.vnode.stop(20 * time.Second)
		}
		if s.VnodeState != "" {
			if n := killProcessesUnder(s.VnodeState, 5*time.Second); n > 0 {
				s.logf("stack: ended %d worker processes surge-vnode left running", n)
			}
		}
		if s.scaler != nil {
			s.scaler.stop(20 * time.Second)
		}
		if s.Rabbit != nil {
			if err := s.Rabbit.Stop(); err != nil {
				s.logf("stack: stop RabbitMQ: %v", err)
			}
		}
		if s.Cluster != nil {
			if err := s.Cluster.Stop(); err != nil {
				s.logf("stack: stop control plane: %v", err)
			}
		}
		if s.own && !s.Options.Keep {
			_ = os.RemoveAll(s.Dir)
		} else {
			s.logf("stack: kept %s", s.Dir)
		}
	})
}

// Backend describes the virtual node's backend for reports.
func (s *Stack) Backend() (name, startDelay string) {
	delay := "off"
	if s.Options.StartDelay > 0 {
		delay = s.Options.StartDelay.String()
	}
	return "local", delay
}

func (s *Stack) logf(format string, args ...any) {
	fmt.Fprintf(s.log, format+"\n", args...)
}

// ticker prints an "still waiting" line every 15 s until the returned func is called.
func (s *Stack) ticker(what string) func() {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				s.logf("stack: still starting the %s (%v)", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	return func() { close(done) }
}

// FindRoot returns the repository root: the nearest directory upwards from the
// working directory whose go.mod declares Surge's module.
func FindRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(b), "module github.com/surge-autoscaler/surge\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the Surge repository (no go.mod of github.com/surge-autoscaler/surge upwards): run from the clone, or pass --root")
		}
		dir = parent
	}
}

func defaultBinDir(root string) string {
	if exe, err := os.Executable(); err == nil {
		dir := filepath.Dir(exe)
		if _, err := os.Stat(filepath.Join(dir, "surge-vnode")); err == nil {
			return dir
		}
	}
	return filepath.Join(root, "bin")
}

// prefixWriter indents the harness's progress lines under the stack's.
type prefixWriter struct {
	w      io.Writer
	prefix string
}

func (p prefixWriter) Write(b []byte) (int, error) {
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if line == "" {
			continue
		}
		if _, err := io.WriteString(p.w, p.prefix+line); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}
