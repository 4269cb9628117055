package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Cluster is what "up" writes to DIR/cluster.json once every component is ready. The
// test harness in the main module reads it; keep the JSON names stable.
type Cluster struct {
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

type upOptions struct {
	dir                    string
	hpaSyncPeriod          time.Duration
	hpaDownscaleWindow     time.Duration
	nodeMonitorGracePeriod time.Duration
}

func runUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	var o upOptions
	fs.StringVar(&o.dir, "dir", "", "directory for certificates, etcd data, logs, kubeconfig and cluster.json (required)")
	fs.DurationVar(&o.hpaSyncPeriod, "hpa-sync-period", 15*time.Second, "kube-controller-manager --horizontal-pod-autoscaler-sync-period (upstream default 15s)")
	fs.DurationVar(&o.hpaDownscaleWindow, "hpa-downscale-stabilization", 5*time.Minute, "kube-controller-manager --horizontal-pod-autoscaler-downscale-stabilization (upstream default 5m)")
	fs.DurationVar(&o.nodeMonitorGracePeriod, "node-monitor-grace-period", 50*time.Second, "kube-controller-manager --node-monitor-grace-period")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.dir == "" {
		fmt.Fprintln(os.Stderr, "surge-controlplane up: --dir is required")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := up(ctx, o); err != nil {
		fmt.Fprintf(os.Stderr, "surge-controlplane: %v\n", err)
		return 1
	}
	return 0
}

func up(ctx context.Context, o upOptions) error {
	start := time.Now()
	dir, err := filepath.Abs(o.dir)
	if err != nil {
		return err
	}
	// A previous run's cluster.json would tell a waiting harness we are ready.
	_ = os.Remove(filepath.Join(dir, "cluster.json"))
	for _, sub := range []string{"logs", "pki"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return err
		}
	}
	_ = os.RemoveAll(filepath.Join(dir, "etcd")) // a fresh store every run
	pki, err := generatePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return fmt.Errorf("generate PKI: %w", err)
	}
	ports, err := freePorts(5)
	if err != nil {
		return err
	}
	etcdPort, peerPort, apiPort, kcmPort, schedPort := ports[0], ports[1], ports[2], ports[3], ports[4]

	etcd, err := startEtcd(dir, etcdPort, peerPort)
	if err != nil {
		return err
	}
	defer etcd.Close()

	server := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	admin := filepath.Join(dir, "kubeconfig")
	kcmKubeconfig := filepath.Join(dir, "controller-manager.kubeconfig")
	schedKubeconfig := filepath.Join(dir, "scheduler.kubeconfig")
	for _, k := range []struct{ file, user, cert, key string }{
		{admin, "surge-admin", pki.AdminCert, pki.AdminKey},
		{kcmKubeconfig, "system:kube-controller-manager", pki.ControllerManagerCert, pki.ControllerManagerKey},
		{schedKubeconfig, "system:kube-scheduler", pki.SchedulerCert, pki.SchedulerKey},
	} {
		if err := writeKubeconfig(k.file, server, k.user, pki.CACert, k.cert, k.key); err != nil {
			return err
		}
	}

	procs := &children{}
	defer procs.stopAll()
	go func() { // a component that dies ends the whole control plane
		select {
		case <-procs.died():
			stopSelf()
		case <-ctx.Done():
		}
	}()

	if err := procs.start(ctx, dir, "kube-apiserver", apiserverArgs(pki, etcdPort, apiPort)); err != nil {
		return err
	}
	tlsc, err := adminTLS(pki)
	if err != nil {
		return err
	}
	if err := waitHTTP(ctx, tlsc, server+"/readyz", 120*time.Second); err != nil {
		return fmt.Errorf("kube-apiserver: %w (see %s)", err, filepath.Join(dir, "logs", "kube-apiserver.log"))
	}
	if err := procs.start(ctx, dir, "kube-controller-manager", controllerManagerArgs(o, dir, pki, kcmKubeconfig, kcmPort)); err != nil {
		return err
	}
	if err := procs.start(ctx, dir, "kube-scheduler", schedulerArgs(dir, schedKubeconfig, schedPort)); err != nil {
		return err
	}
	insecure := &tls.Config{InsecureSkipVerify: true} // self-signed /healthz of our own children on loopback
	for name, port := range map[string]int{"kube-controller-manager": kcmPort, "kube-scheduler": schedPort} {
		if err := waitHTTP(ctx, insecure, fmt.Sprintf("https://127.0.0.1:%d/healthz", port), 120*time.Second); err != nil {
			return fmt.Errorf("%s: %w (see %s)", name, err, filepath.Join(dir, "logs", name+".log"))
		}
	}
	// The service-account controllers are ready once the default namespace has its
	// ServiceAccount; pods cannot be created before that.
	if err := waitHTTP(ctx, tlsc, server+"/api/v1/namespaces/default/serviceaccounts/default", 120*time.Second); err != nil {
		return fmt.Errorf("default service account never appeared: %w", err)
	}

	c := Cluster{
		Dir: dir, PID: os.Getpid(), Kubeconfig: admin, Server: server,
		APIServerPort: apiPort, EtcdPort: etcdPort, ControllerManagerPort: kcmPort, SchedulerPort: schedPort,
		CACert: pki.CACert, CAKey: pki.CAKey, FrontProxyCACert: pki.FrontProxyCACert,
		FrontProxyClientCert: pki.FrontProxyClientCert, FrontProxyClientKey: pki.FrontProxyClientKey,
		AdminCert: pki.AdminCert, AdminKey: pki.AdminKey,
		HPASyncPeriod: o.hpaSyncPeriod.String(), StartedIn: time.Since(start).Round(time.Millisecond).String(),
	}
	if err := writeJSONAtomic(filepath.Join(dir, "cluster.json"), c); err != nil {
		return err
	}
	fmt.Printf("surge-controlplane: ready in %s at %s (HPA sync %s); kubeconfig %s\n", c.StartedIn, server, o.hpaSyncPeriod, admin)
	<-ctx.Done()
	fmt.Println("surge-controlplane: stopping")
	return nil
}

func apiserverArgs(p *pkiPaths, etcdPort, apiPort int) []string {
	return []string{
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdPort),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--endpoint-reconciler-type=none",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--client-ca-file=" + p.CACert,
		"--tls-cert-file=" + p.ServingCert,
		"--tls-private-key-file=" + p.ServingKey,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.ServiceAccountPub,
		"--service-account-signing-key-file=" + p.ServiceAccountKey,
		"--requestheader-client-ca-file=" + p.FrontProxyCACert,
		"--requestheader-allowed-names=front-proxy-client",
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.FrontProxyClientCert,
		"--proxy-client-key-file=" + p.FrontProxyClientKey,
		"--allow-privileged=true",
		"--v=1",
	}
}

// controllersEnabled is the set the project needs: workloads, HPA, garbage collection,
// namespaces, service accounts and the node/taint/pod-GC lifecycle a virtual node meets.
const controllersEnabled = "deployment-controller,replicaset-controller,horizontal-pod-autoscaler-controller," +
	"garbage-collector-controller,node-lifecycle-controller,serviceaccount-controller," +
	"serviceaccount-token-controller,namespace-controller,root-ca-certificate-publisher-controller," +
	"taint-eviction-controller,pod-garbage-collector-controller"

func controllerManagerArgs(o upOptions, dir string, p *pkiPaths, kubeconfig string, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "pki", "kube-controller-manager"),
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--root-ca-file=" + p.CACert,
		"--service-account-private-key-file=" + p.ServiceAccountKey,
		"--cluster-signing-cert-file=" + p.CACert,
		"--cluster-signing-key-file=" + p.CAKey,
		"--controllers=" + controllersEnabled,
		"--horizontal-pod-autoscaler-sync-period=" + o.hpaSyncPeriod.String(),
		"--horizontal-pod-autoscaler-downscale-stabilization=" + o.hpaDownscaleWindow.String(),
		"--node-monitor-grace-period=" + o.nodeMonitorGracePeriod.String(),
		"--v=1",
	}
}

func schedulerArgs(dir, kubeconfig string, port int) []string {
	return []string{
		"--kubeconfig=" + kubeconfig,
		"--authentication-kubeconfig=" + kubeconfig,
		"--authorization-kubeconfig=" + kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--cert-dir=" + filepath.Join(dir, "pki", "kube-scheduler"),
		"--leader-elect=false",
		"--v=1",
	}
}

// children runs the components as child processes of this binary.
type children struct {
	mu    sync.Mutex
	procs []*exec.Cmd
	dead  chan struct{}
	once  sync.Once
}

func (c *children) died() <-chan struct{} {
	c.once.Do(func() { c.dead = make(chan struct{}) })
	return c.dead
}

func (c *children) start(ctx context.Context, dir, name string, args []string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "logs", name+".log"), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	cmd := exec.Command(self, append([]string{name}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = dir
	// Pdeathsig: if "up" is killed outright, the kernel kills the component too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	c.mu.Lock()
	c.procs = append(c.procs, cmd)
	c.mu.Unlock()
	c.died()
	dead := c.dead
	go func() {
		_ = cmd.Wait()
		logf.Close()
		if ctx.Err() == nil {
			fmt.Fprintf(os.Stderr, "surge-controlplane: %s exited: %v (see %s)\n", name, cmd.ProcessState, logf.Name())
			select {
			case <-dead:
			default:
				close(dead)
			}
		}
	}()
	return nil
}

// stopAll sends SIGTERM to every component, newest first, and SIGKILL to any still
// running after 10 s.
func (c *children) stopAll() {
	c.mu.Lock()
	procs := append([]*exec.Cmd(nil), c.procs...)
	c.mu.Unlock()
	var wg sync.WaitGroup
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		if p.Process == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Process.Signal(syscall.SIGTERM)
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) {
				if p.Process.Signal(syscall.Signal(0)) != nil || p.ProcessState != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
			_ = p.Process.Kill()
		}()
	}
	wg.Wait()
}

func stopSelf() { _ = syscall.Kill(os.Getpid(), syscall.SIGTERM) }

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitHTTP polls url until it answers 200.
func waitHTTP(ctx context.Context, tlsc *tls.Config, url string, timeout time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsc}}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return err
		}
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: HTTP %d", url, resp.StatusCode)
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		last = errors.New("no answer")
	}
	return fmt.Errorf("not ready after %s: %w", timeout, last)
}

func writeJSONAtomic(file string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, file)
}
