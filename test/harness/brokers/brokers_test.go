package brokers

import (
	"context"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/test/harness"
)

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestMissingBinary(t *testing.T) {
	_, err := lookBinary("/nonexistent/rabbitmq-server", rabbitInstall)
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y rabbitmq-server") {
		t.Errorf("err = %v", err)
	}
	_, err = lookBinary("no-such-prometheus-binary", promInstall)
	if err == nil || !strings.Contains(err.Error(), "apt-get install -y --no-install-recommends prometheus") {
		t.Errorf("err = %v", err)
	}
}

// TestTwoRabbitMQNodes starts two private nodes at once and checks each answers on
// its own ports and that Stop ends exactly the processes it started.
func TestTwoRabbitMQNodes(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	var nodes [2]*RabbitMQ
	var errs [2]error
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			nodes[i], errs[i] = StartRabbitMQ(ctx, "")
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	if nodes[0].AMQPPort == nodes[1].AMQPPort || nodes[0].epmdPort == nodes[1].epmdPort {
		t.Fatalf("nodes share ports: %+v %+v", nodes[0], nodes[1])
	}
	for i, n := range nodes {
		if _, err := n.API(ctx, nil, http.MethodGet, "/api/overview", ""); err != nil {
			t.Errorf("node %d management API: %v", i, err)
		}
		if strings.Contains(n.ManagementURL, n.Password) || !strings.Contains(n.AMQPURL, n.Password) {
			t.Errorf("node %d URLs: %s %s", i, n.ManagementURL, n.AMQPURL)
		}
	}
	server, epmd, dir := nodes[0].server.cmd.Process.Pid, nodes[0].epmd.cmd.Process.Pid, nodes[0].Dir
	if err := nodes[0].Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if alive(server) || alive(epmd) {
		t.Errorf("after Stop: server alive %v, epmd alive %v", alive(server), alive(epmd))
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("dir %s not removed: %v", dir, err)
	}
	if _, err := nodes[1].API(ctx, nil, http.MethodGet, "/api/overview", ""); err != nil {
		t.Errorf("stopping node 0 disturbed node 1: %v", err)
	}
	if err := nodes[1].Stop(); err != nil {
		t.Fatal(err)
	}
}

func TestKafkaPause(t *testing.T) {
	harness.Integration(t)
	k, err := StartKafka(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	dialAndRead := func() error {
		c, err := net.DialTimeout("tcp", k.Addr, time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		return err
	}
	if err := dialAndRead(); !isTimeout(err) {
		t.Errorf("running broker: read = %v, want a timeout (connection held open)", err)
	}
	k.Pause()
	if err := dialAndRead(); err == nil || isTimeout(err) {
		t.Errorf("paused broker: read = %v, want the connection closed", err)
	}
	k.Resume()
	if err := dialAndRead(); !isTimeout(err) {
		t.Errorf("resumed broker: read = %v, want a timeout", err)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func TestPrometheus(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	p, err := StartPrometheus(ctx, "", []string{"127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	pid := p.p.cmd.Process.Pid
	resp, err := http.Get(p.URL + "/api/v1/query?query=up")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("query: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := p.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Error("old process alive after Restart")
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p.Dir); !os.IsNotExist(err) {
		t.Errorf("dir not removed: %v", err)
	}
}
