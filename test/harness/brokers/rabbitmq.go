package brokers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

const (
	rabbitServer  = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	rabbitInstall = "apt-get install -y rabbitmq-server"
	// RabbitMQStartTimeout bounds how long StartRabbitMQ and Restart wait for the node
	// (12–19 s on a quiet machine; much longer when the machine is loaded).
	RabbitMQStartTimeout = 3 * time.Minute
)

// RabbitMQ is a private RabbitMQ node with the management plugin, on 127.0.0.1.
type RabbitMQ struct {
	// AMQPURL is amqp://User:Password@127.0.0.1:PORT/ (default vhost "/").
	AMQPURL string
	// ManagementURL is http://127.0.0.1:PORT (no credentials).
	ManagementURL string
	// User and Password are an administrator's credentials.
	User, Password string
	// Dir holds the node's config, data and logs (log/ for the logs).
	Dir string
	// AMQPSURL is amqps://User:Password@127.0.0.1:PORT/: TLS with PKI's server
	// certificate; a client certificate signed by PKI's CA is verified if presented.
	AMQPSURL string
	// PKI holds the CA and the server and client certificates of the TLS listener.
	PKI *PKI
	// AMQPPort, AMQPSPort and ManagementPort are the listening ports.
	AMQPPort, AMQPSPort, ManagementPort int
	// StartedIn is how long StartRabbitMQ took until the node answered.
	StartedIn time.Duration

	node     string
	distPort int
	epmdPort int
	ownDir   bool

	mu     sync.Mutex
	epmd   *proc
	server *proc
}

// StartRabbitMQ starts a node under dir (a new temporary directory, removed by Stop,
// if dir is "") and waits until AMQP and the management API answer. The node runs its
// own epmd on a free port, its distribution port on loopback, and statistics every
// second with 1 s sample retention so management API values move every second.
func StartRabbitMQ(ctx context.Context, dir string) (*RabbitMQ, error) {
	start := time.Now()
	if _, err := lookBinary(rabbitServer, rabbitInstall); err != nil {
		return nil, err
	}
	epmdBin, err := lookBinary("epmd", rabbitInstall)
	if err != nil {
		return nil, err
	}
	r := &RabbitMQ{Dir: dir, User: "surge", Password: randomHex(12)}
	if dir == "" {
		if r.Dir, err = os.MkdirTemp("", "surge-rabbitmq-"); err != nil {
			return nil, err
		}
		r.ownDir = true
	}
	ports, err := harness.FreePorts(5)
	if err != nil {
		return nil, err
	}
	r.AMQPPort, r.ManagementPort, r.distPort, r.epmdPort, r.AMQPSPort = ports[0], ports[1], ports[2], ports[3], ports[4]
	if r.PKI, err = NewPKI(); err != nil {
		return nil, err
	}
	r.node = fmt.Sprintf("surge%d@localhost", r.AMQPPort)
	r.AMQPURL = fmt.Sprintf("amqp://%s:%s@127.0.0.1:%d/", r.User, r.Password, r.AMQPPort)
	r.AMQPSURL = fmt.Sprintf("amqps://%s:%s@127.0.0.1:%d/", r.User, r.Password, r.AMQPSPort)
	r.ManagementURL = fmt.Sprintf("http://127.0.0.1:%d", r.ManagementPort)
	if err := r.writeConfig(); err != nil {
		return nil, err
	}
	epmd := exec.Command(epmdBin, "-port", strconv.Itoa(r.epmdPort), "-address", "127.0.0.1")
	epmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	if r.epmd, err = startProc(epmd, filepath.Join(r.Dir, "log", "epmd.log")); err != nil {
		return nil, err
	}
	if err := r.startServer(ctx); err != nil {
		r.Stop()
		return nil, err
	}
	r.StartedIn = time.Since(start)
	return r, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *RabbitMQ) writeConfig() error {
	for _, d := range []string{"home", "mnesia", "log"} {
		if err := os.MkdirAll(filepath.Join(r.Dir, d), 0o755); err != nil {
			return err
		}
	}
	d := func(p string) string { return filepath.Join(r.Dir, p) }
	conf := fmt.Sprintf(`listeners.tcp.default = 127.0.0.1:%d
listeners.ssl.default = 127.0.0.1:%d
ssl_options.cacertfile = %s
ssl_options.certfile = %s
ssl_options.keyfile = %s
ssl_options.verify = verify_peer
ssl_options.fail_if_no_peer_cert = false
management.tcp.ip = 127.0.0.1
management.tcp.port = %d
collect_statistics_interval = 1000
management.sample_retention_policies.global.minute = 1
management.sample_retention_policies.global.hour = 60
management.sample_retention_policies.basic.minute = 1
management.sample_retention_policies.basic.hour = 60
management.sample_retention_policies.detailed.10 = 1
default_user = %s
default_pass = %s
default_user_tags.administrator = true
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
loopback_users = none
log.console = false
log.file.level = info
`, r.AMQPPort, r.AMQPSPort, d("ca.pem"), d("server.pem"), d("server.key"), r.ManagementPort, r.User, r.Password)
	files := map[string]string{
		"ca.pem":            r.PKI.CA,
		"server.pem":        r.PKI.ServerCert,
		"server.key":        r.PKI.ServerKey,
		"rabbitmq.conf":     conf,
		"rabbitmq-env.conf": "",
		"enabled_plugins":   "[rabbitmq_management].\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(r.Dir, name), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

func (r *RabbitMQ) env() []string {
	d := func(p string) string { return filepath.Join(r.Dir, p) }
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + d("home"),
		"LANG=C.UTF-8",
		"RABBITMQ_NODENAME=" + r.node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT=" + strconv.Itoa(r.AMQPPort),
		"RABBITMQ_DIST_PORT=" + strconv.Itoa(r.distPort),
		"RABBITMQ_CONFIG_FILE=" + d("rabbitmq.conf"),
		"RABBITMQ_ADVANCED_CONFIG_FILE=" + d("advanced.config"),
		"RABBITMQ_CONF_ENV_FILE=" + d("rabbitmq-env.conf"),
		"RABBITMQ_MNESIA_BASE=" + d("mnesia"),
		"RABBITMQ_LOG_BASE=" + d("log"),
		"RABBITMQ_ENABLED_PLUGINS_FILE=" + d("enabled_plugins"),
		"RABBITMQ_ENABLED_PLUGINS=rabbitmq_management",
		"RABBITMQ_PID_FILE=" + d("rabbit.pid"),
		// Run the VM in place of the wrapper shell, so the process we start is the
		// VM (signals, parent-death signal and exit status are its own).
		"RABBITMQ_ALLOW_INPUT=true",
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-noinput -kernel inet_dist_use_interface {127,0,0,1}",
		"ERL_EPMD_ADDRESS=127.0.0.1",
		"ERL_EPMD_PORT=" + strconv.Itoa(r.epmdPort),
	}
}

func (r *RabbitMQ) startServer(ctx context.Context) error {
	cmd := exec.Command(rabbitServer)
	cmd.Env = r.env()
	cmd.Dir = r.Dir
	cmd.Stdin = nil
	p, err := startProc(cmd, filepath.Join(r.Dir, "log", "server.out"))
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.server = p
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, RabbitMQStartTimeout)
	defer cancel()
	if err := r.waitReady(ctx, p); err != nil {
		return fmt.Errorf("rabbitmq node %s: %w\n%s", r.node, err, r.logTail())
	}
	return nil
}

func (r *RabbitMQ) logTail() string {
	return tail(filepath.Join(r.Dir, "log", "server.out"), 1500) + "\n" +
		tail(filepath.Join(r.Dir, "log", r.node+".log"), 1500)
}

// waitReady polls the AMQP port and the management API until both answer.
func (r *RabbitMQ) waitReady(ctx context.Context, p *proc) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: noKeepAlive}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		if p.exited() {
			return fmt.Errorf("%w: %v", errExited, p.err)
		}
		if r.ping(ctx, client) == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not ready: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

func (r *RabbitMQ) ping(ctx context.Context, client *http.Client) error {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", r.AMQPPort), time.Second)
	if err != nil {
		return err
	}
	c.Close()
	_, err = r.API(ctx, client, http.MethodGet, "/api/overview", "")
	return err
}

// noKeepAlive leaves no idle connection (and goroutine) behind, so callers can check
// for goroutine leaks of their own.
var noKeepAlive = &http.Transport{DisableKeepAlives: true}

// API calls the management API as the administrator and returns the body of a 2xx
// answer. client may be nil (a default client with a 5 s timeout is used).
func (r *RabbitMQ) API(ctx context.Context, client *http.Client, method, path, body string) ([]byte, error) {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second, Transport: noKeepAlive}
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.ManagementURL+path, rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(r.User, r.Password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	return b, nil
}

// CreateVhost creates vhost name and gives the administrator full permissions on it.
func (r *RabbitMQ) CreateVhost(ctx context.Context, name string) error {
	v := url.PathEscape(name)
	if _, err := r.API(ctx, nil, http.MethodPut, "/api/vhosts/"+v, "{}"); err != nil {
		return err
	}
	_, err := r.API(ctx, nil, http.MethodPut, "/api/permissions/"+v+"/"+url.PathEscape(r.User),
		`{"configure":".*","write":".*","read":".*"}`)
	return err
}

// AMQPURLFor returns the AMQP URL of vhost (credentials included).
func (r *RabbitMQ) AMQPURLFor(vhost string) string {
	return fmt.Sprintf("amqp://%s:%s@127.0.0.1:%d/%s", r.User, r.Password, r.AMQPPort, url.PathEscape(vhost))
}

// Kill SIGKILLs the node (not its epmd), for fault tests. Restart brings it back.
func (r *RabbitMQ) Kill() error {
	r.mu.Lock()
	p := r.server
	r.mu.Unlock()
	if p != nil {
		p.kill()
	}
	return nil
}

// PID returns the process id of the node's VM (0 when it is not running), for
// benchmarks that measure the broker's CPU.
func (r *RabbitMQ) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.server == nil || r.server.exited() {
		return 0
	}
	return r.server.cmd.Process.Pid
}

// Freeze stops the node's processes (SIGSTOP) without closing their sockets: clients
// see a broker that accepts bytes and never answers. Thaw resumes them.
func (r *RabbitMQ) Freeze() error {
	if err := r.signal(syscall.SIGSTOP); err != nil {
		return err
	}
	// kill(2) returns before the scheduler stops the targets: without waiting, a
	// request sent right after Freeze can still be answered.
	r.mu.Lock()
	p := r.server
	r.mu.Unlock()
	return p.waitGroupStopped(5 * time.Second)
}

// Thaw resumes a frozen node (SIGCONT).
func (r *RabbitMQ) Thaw() error { return r.signal(syscall.SIGCONT) }

func (r *RabbitMQ) signal(sig syscall.Signal) error {
	r.mu.Lock()
	p := r.server
	r.mu.Unlock()
	if p == nil || p.exited() {
		return fmt.Errorf("rabbitmq node %s is not running", r.node)
	}
	p.signalGroup(sig)
	return nil
}

// Restart stops the node if it runs and starts it again on the same ports with the
// same data (durable queues and their messages survive).
func (r *RabbitMQ) Restart(ctx context.Context) error {
	r.mu.Lock()
	p := r.server
	r.mu.Unlock()
	if p != nil {
		p.stop(30 * time.Second)
	}
	return r.startServer(ctx)
}

// Stop stops the node and its epmd, and removes Dir if StartRabbitMQ created it.
func (r *RabbitMQ) Stop() error {
	r.mu.Lock()
	srv, epmd := r.server, r.epmd
	r.server, r.epmd = nil, nil
	r.mu.Unlock()
	if srv != nil {
		srv.stop(30 * time.Second)
	}
	if epmd != nil {
		epmd.stop(5 * time.Second)
	}
	if r.ownDir {
		return os.RemoveAll(r.Dir)
	}
	return nil
}
