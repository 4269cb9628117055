package harness

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ClusterOptions configures StartCluster.
type ClusterOptions struct {
	// HPASyncPeriod is the HPA controller's sync period. Default 1 s: tests and the
	// demo run the HPA at 1 s (upstream's default is 15 s) and say so.
	HPASyncPeriod time.Duration
	// HPADownscaleStabilization is the HPA's default downscale window for HPAs
	// without spec.behavior. Default 0 s (upstream 5 m).
	HPADownscaleStabilization time.Duration
	// Dir holds the cluster's certificates, etcd data and logs. Default: a new temp
	// directory, removed by Stop.
	Dir string
	// Log receives progress lines. Default os.Stderr.
	Log io.Writer
}

// ClusterInfo is DIR/cluster.json as written by surge-controlplane.
type ClusterInfo struct {
	Dir                   string `json:"dir"`
	PID                   int    `json:"pid"`
	Kubeconfig            string `json:"kubeconfig"`
	Server                string `json:"server"`
	APIServerPort         int    `json:"apiServerPort"`
	EtcdPort              int    `json:"etcdPort"`
	ControllerManagerPort int    `json:"controllerManagerPort"`
	SchedulerPort         int    `json:"schedulerPort"`
	CACert                string `json:"caCert"`
	CAKey                 string `json:"caKey"`
	FrontProxyCACert      string `json:"frontProxyCACert"`
	FrontProxyClientCert  string `json:"frontProxyClientCert"`
	FrontProxyClientKey   string `json:"frontProxyClientKey"`
	AdminCert             string `json:"adminCert"`
	AdminKey              string `json:"adminKey"`
	HPASyncPeriod         string `json:"hpaSyncPeriod"`
	StartedIn             string `json:"startedIn"`
}

// Cluster is a running control plane.
type Cluster struct {
	// Dir is the cluster's directory; logs are in Dir/logs.
	Dir string
	// Kubeconfig is the admin kubeconfig (system:masters), certificates embedded.
	Kubeconfig string
	// Config is the admin rest.Config.
	Config *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface
	// Info is what surge-controlplane reported.
	Info ClusterInfo

	cmd     *exec.Cmd
	exited  chan struct{}
	tempDir bool
}

// BuildHint says how to get the control plane. Every error of StartCluster ends
// with it, so that no caller words it again.
const BuildHint = "the control plane is built once per machine by `make controlplane`"

// StartCluster builds surge-controlplane if needed, starts a fresh cluster and waits
// until it is ready (apiserver /readyz, controller-manager and scheduler healthy,
// default ServiceAccount present). Call Stop when done. The process is started with a
// parent-death signal, so a test binary that is killed takes the cluster with it.
// An error says how to get the control plane (BuildHint).
func StartCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	c, err := startCluster(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("cannot start the control plane (%s): %w", BuildHint, err)
	}
	return c, nil
}

func startCluster(ctx context.Context, o ClusterOptions) (*Cluster, error) {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.HPASyncPeriod == 0 {
		o.HPASyncPeriod = time.Second
	}
	bin, err := EnsureControlPlane(ctx, o.Log)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: o.Dir, exited: make(chan struct{})}
	if c.Dir == "" {
		if c.Dir, err = os.MkdirTemp("", "surge-cluster-"); err != nil {
			return nil, err
		}
		c.tempDir = true
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(c.Dir, "controlplane.log"))
	if err != nil {
		return nil, err
	}
	c.cmd = exec.Command(bin, "up", "--dir", c.Dir,
		"--hpa-sync-period", o.HPASyncPeriod.String(),
		"--hpa-downscale-stabilization", o.HPADownscaleStabilization.String())
	c.cmd.Stdout, c.cmd.Stderr = logFile, logFile
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	start := time.Now()
	if err := c.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start surge-controlplane: %w", err)
	}
	go func() { _ = c.cmd.Wait(); logFile.Close(); close(c.exited) }()
	fmt.Fprintf(o.Log, "harness: starting control plane in %s (HPA sync period %s)\n", c.Dir, o.HPASyncPeriod)
	if err := c.waitReady(ctx, 3*time.Minute); err != nil {
		_ = c.Stop()
		return nil, err
	}
	fmt.Fprintf(o.Log, "harness: control plane ready in %s at %s\n", time.Since(start).Round(time.Millisecond), c.Info.Server)
	return c, nil
}

func (c *Cluster) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	file := filepath.Join(c.Dir, "cluster.json")
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.exited:
			return fmt.Errorf("surge-controlplane exited before it was ready: %s", c.logTail())
		case <-deadline.C:
			return fmt.Errorf("surge-controlplane not ready after %s: %s", timeout, c.logTail())
		case <-tick.C:
		}
		b, err := os.ReadFile(file)
		if err != nil {
			continue
		}
		if err := json.Unmarshal(b, &c.Info); err != nil {
			return fmt.Errorf("read %s: %w", file, err)
		}
		return c.loadAdmin()
	}
}

// loadAdmin writes the admin kubeconfig with its certificates embedded (a client
// whose certificate comes from files starts a rotation watcher that runs for the
// life of the process, which would outlive every test) and builds Config and
// Client from it.
func (c *Cluster) loadAdmin() error {
	kc, err := clientcmd.LoadFromFile(c.Info.Kubeconfig)
	if err != nil {
		return err
	}
	if err := clientcmdapi.FlattenConfig(kc); err != nil {
		return err
	}
	c.Kubeconfig = filepath.Join(c.Dir, "admin-embedded.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, c.Kubeconfig); err != nil {
		return err
	}
	if c.Config, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig); err != nil {
		return err
	}
	// Tests create objects in bursts; the default 5 QPS would make them slow.
	c.Config.QPS, c.Config.Burst = 200, 400
	c.Client, err = kubernetes.NewForConfig(c.Config)
	return err
}

// logTail returns the end of the control plane's log for error messages.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "controlplane.log"))
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return fmt.Sprintf("log %s (component logs in %s):\n%s",
		filepath.Join(c.Dir, "controlplane.log"), filepath.Join(c.Dir, "logs"), bytes.TrimSpace(b))
}

// Stop stops the control plane (SIGTERM, then SIGKILL after 30 s) and removes its
// directory if StartCluster created it.
func (c *Cluster) Stop() error {
	if c == nil || c.cmd == nil || c.cmd.Process == nil {
		return nil
	}
	var err error
	select {
	case <-c.exited:
	default:
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(30 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.exited
			err = errors.New("surge-controlplane did not stop within 30s of SIGTERM; killed")
		}
	}
	if c.tempDir && os.Getenv("SURGE_KEEP_CLUSTER_DIR") == "" {
		if rmErr := os.RemoveAll(c.Dir); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}
