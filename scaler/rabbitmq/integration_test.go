package rabbitmq

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/surge-autoscaler/surge/scaler/trigger"
	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// rmq is the package's one private RabbitMQ node (integration runs only).
var (
	rmq       *brokers.RabbitMQ
	rmqStarts time.Duration
)

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{Components: []harness.Component{brokers.NeedRabbitMQ(&rmq)}},
		func(context.Context, *harness.Env) error { rmqStarts = rmq.StartedIn; return nil })
}

// node returns the running node (integration tests only: it skips under -short).
func node(t testing.TB) *brokers.RabbitMQ {
	t.Helper()
	harness.Integration(t)
	return rmq
}

// client is a test-side AMQP connection for declaring, publishing and consuming.
type client struct {
	conn *amqp.Connection
	ch   *amqp.Channel
}

func dialClient(t testing.TB, url string) *client {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		t.Fatalf("channel: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &client{conn: conn, ch: ch}
}

func (c *client) queue(t testing.TB, name string) {
	t.Helper()
	if _, err := c.ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		t.Fatalf("declare %s: %v", name, err)
	}
	if _, err := c.ch.QueuePurge(name, false); err != nil {
		t.Fatalf("purge %s: %v", name, err)
	}
}

func (c *client) publish(t testing.TB, queue string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		err := c.ch.PublishWithContext(context.Background(), "", queue, false, false, amqp.Publishing{Body: []byte("x"), DeliveryMode: amqp.Persistent})
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// hold consumes n messages from queue without acknowledging them (on its own
// channel, prefetch n), so they stay unacknowledged until the test ends.
func (c *client) hold(t testing.TB, queue string, n int) {
	t.Helper()
	ch, err := c.conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.Qos(n, 0, false); err != nil {
		t.Fatal(err)
	}
	deliveries, err := ch.Consume(queue, "", false, false, false, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		select {
		case <-deliveries:
		case <-time.After(10 * time.Second):
			t.Fatalf("received %d of %d messages", i, n)
		}
	}
}

func build(t testing.TB, p *Pool, meta, auth m) trigger.Source {
	t.Helper()
	tr, err := p.Build(context.Background(), trigger.Spec{Type: Type, Name: "it", Metadata: meta, AuthParams: auth})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Cleanup(func() { _ = tr.Source.Close() })
	return tr.Source
}

func measure(t testing.TB, s trigger.Source) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.Measure(ctx)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	return v
}

// eventually measures s until it returns want (the management API lags by its
// statistics interval).
func eventually(t testing.TB, s trigger.Source, want float64) {
	t.Helper()
	harness.EventuallyEvery(t, 200*time.Millisecond, fmt.Sprintf("Measure = %v", want), func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		v, err := s.Measure(ctx)
		if err == nil && v == want {
			return ""
		}
		return fmt.Sprintf("Measure = %v, %v", v, err)
	})
}

func mgmtHost(r *brokers.RabbitMQ, vhost string) string {
	return strings.Replace(r.ManagementURL, "http://", fmt.Sprintf("http://%s:%s@", r.User, r.Password), 1) + "/" + vhost
}

func TestQueueLengthReadyVersusUnacked(t *testing.T) {
	r := node(t)
	t.Logf("node started in %v", rmqStarts)
	c := dialClient(t, r.AMQPURL)
	c.queue(t, "depth")
	c.publish(t, "depth", 30)
	c.hold(t, "depth", 10) // 20 ready + 10 unacknowledged

	p := NewPool(testr.New(t))
	defer p.Close()
	overAMQP := build(t, p, m{"host": r.AMQPURL, "queueName": "depth"}, nil)
	overHTTP := build(t, p, m{"host": mgmtHost(r, "%2F"), "queueName": "depth"}, nil)
	readyHTTP := build(t, p, m{"host": mgmtHost(r, ""), "queueName": "depth", "excludeUnacknowledged": "true", "protocol": "http"}, nil)

	if got := measure(t, overAMQP); got != 20 {
		t.Errorf("amqp sees %v, want 20 (ready only)", got)
	}
	eventually(t, overHTTP, 30)
	eventually(t, readyHTTP, 20)
}

func TestCredentialsAndVhost(t *testing.T) {
	r := node(t)
	ctx := context.Background()
	if err := r.CreateVhost(ctx, "team a"); err != nil {
		t.Fatal(err)
	}
	c := dialClient(t, r.AMQPURLFor("team a"))
	c.queue(t, "jobs")
	c.publish(t, "jobs", 4)

	p := NewPool(testr.New(t))
	defer p.Close()
	noCreds := fmt.Sprintf("amqp://127.0.0.1:%d/", r.AMQPPort)
	cases := []struct {
		name string
		meta m
		auth m
		want float64
	}{
		{"amqp vhostName and auth credentials", m{"host": noCreds, "vhostName": "team a", "queueName": "jobs"}, m{"username": r.User, "password": r.Password}, 4},
		{"amqp vhost in host", m{"queueName": "jobs"}, m{"host": r.AMQPURLFor("team a")}, 4},
		{"http vhost in host", m{"queueName": "jobs"}, m{"host": mgmtHost(r, "team%20a")}, 4},
		{"http vhostName", m{"queueName": "jobs", "vhostName": "team a", "host": r.ManagementURL + "/"}, m{"username": r.User, "password": r.Password}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			eventually(t, build(t, p, tc.meta, tc.auth), tc.want)
		})
	}
	t.Run("wrong password", func(t *testing.T) {
		for _, host := range []string{noCreds, r.ManagementURL + "/"} {
			s := build(t, p, m{"host": host, "queueName": "jobs"}, m{"username": r.User, "password": "wrong-pw-123"})
			_, err := s.Measure(ctx)
			if err == nil || strings.Contains(err.Error(), "wrong-pw-123") || strings.Contains(err.Error(), r.Password) {
				t.Errorf("%s: err = %v, want a refusal without the password", host, err)
			}
		}
	})
}

func TestRatesAndRegex(t *testing.T) {
	r := node(t)
	c := dialClient(t, r.AMQPURL)
	for _, q := range []string{"rx-a-incoming", "rx-b-incoming", "rx-c-other"} {
		c.queue(t, q)
	}
	c.publish(t, "rx-a-incoming", 6)
	c.publish(t, "rx-b-incoming", 2)
	c.publish(t, "rx-c-other", 100)

	p := NewPool(testr.New(t))
	defer p.Close()
	host := mgmtHost(r, "")
	for _, tc := range []struct {
		op   string
		want float64
	}{{"sum", 8}, {"max", 6}, {"avg", 4}} {
		t.Run("regex "+tc.op, func(t *testing.T) {
			s := build(t, p, m{"host": host, "queueName": "^rx-.*-incoming$", "useRegex": "true", "operation": tc.op}, nil)
			eventually(t, s, tc.want)
		})
	}
	t.Run("regex beyond pageSize", func(t *testing.T) {
		s := build(t, p, m{"host": host, "queueName": "^rx-", "useRegex": "true", "pageSize": "2"}, nil)
		if _, err := s.Measure(context.Background()); err == nil || !strings.Contains(err.Error(), "more than pageSize=2") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("message rate", func(t *testing.T) {
		c.queue(t, "rate")
		rate := build(t, p, m{"host": host, "queueName": "rate", "mode": "MessageRate", "value": "50"}, nil)
		deliver := build(t, p, m{"host": host, "queueName": "rate", "mode": "DeliverGetRate", "value": "50"}, nil)
		stop := make(chan struct{})
		defer close(stop)
		go func() { // ~100 msg/s, consumed as they come
			pub := dialClient(t, r.AMQPURL)
			deliveries, _ := pub.ch.Consume("rate", "", true, false, false, false, nil)
			go func() {
				for range deliveries {
				}
			}()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					_ = pub.ch.PublishWithContext(context.Background(), "", "rate", false, false, amqp.Publishing{Body: []byte("x")})
				}
			}
		}()
		waitPositive(t, rate, "publish rate")
		waitPositive(t, deliver, "deliver rate")
	})
}

func waitPositive(t *testing.T, s trigger.Source, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if v, err := s.Measure(context.Background()); err == nil && v > 20 && v < 200 {
			t.Logf("%s: %.1f/s", what, v)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
	v, err := s.Measure(context.Background())
	t.Fatalf("%s = %v, %v; want about 100/s", what, v, err)
}

// connections returns the number of client connections the node sees.
func connections(t testing.TB, r *brokers.RabbitMQ, name string) int {
	t.Helper()
	b, err := r.API(context.Background(), nil, http.MethodGet, "/api/connections?columns=client_properties", "")
	if err != nil {
		t.Fatal(err)
	}
	var conns []struct {
		Props struct {
			Name string `json:"connection_name"`
		} `json:"client_properties"`
	}
	if err := json.Unmarshal(b, &conns); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range conns {
		if c.Props.Name == name {
			n++
		}
	}
	return n
}

func TestOneConnectionAndNoPoisoning(t *testing.T) {
	r := node(t)
	c := dialClient(t, r.AMQPURL)
	p := NewPool(logr.Discard())
	defer p.Close()
	var good []trigger.Source
	for i := 0; i < 50; i++ {
		q := fmt.Sprintf("shared-%d", i)
		c.queue(t, q)
		c.publish(t, q, i%5)
		good = append(good, build(t, p, m{"host": r.AMQPURL, "queueName": q}, nil))
	}
	missing := build(t, p, m{"host": r.AMQPURL, "queueName": "no-such-queue"}, nil)
	for round := 0; round < 3; round++ {
		done := make(chan error, len(good)+1)
		for i, s := range good {
			go func(i int, s trigger.Source) {
				v, err := s.Measure(context.Background())
				if err == nil && v != float64(i%5) {
					err = fmt.Errorf("queue %d: got %v want %d", i, v, i%5)
				}
				done <- err
			}(i, s)
		}
		go func() {
			_, err := missing.Measure(context.Background())
			if err == nil || !strings.Contains(err.Error(), "not found") || !strings.Contains(err.Error(), "NOT_FOUND") {
				done <- fmt.Errorf("missing queue: err = %v, want not found with the broker's message", err)
				return
			}
			done <- nil
		}()
		for i := 0; i < len(good)+1; i++ {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
	time.Sleep(1500 * time.Millisecond) // the connection list lags by a statistics interval
	if n := connections(t, r, "surge-scaler"); n != 1 {
		t.Errorf("51 triggers opened %d connections, want 1", n)
	}
	if st := p.Stats(); st.AMQPConnections != 1 {
		t.Errorf("pool stats %+v", st)
	}
}

func TestTLS(t *testing.T) {
	r := node(t)
	c := dialClient(t, r.AMQPURL)
	c.queue(t, "tls")
	c.publish(t, "tls", 2)
	p := NewPool(testr.New(t))
	defer p.Close()
	cases := []struct {
		name string
		meta m
		auth m
		ok   bool
	}{
		{"amqps with the CA", nil, m{"tls": "enable", "ca": r.PKI.CA}, true},
		{"amqps with a client certificate", nil, m{"tls": "enable", "ca": r.PKI.CA, "cert": r.PKI.ClientCert, "key": r.PKI.ClientKey}, true},
		{"unsafeSsl without the CA", m{"unsafeSsl": "true"}, nil, true},
		{"unknown CA", nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			meta := m{"host": r.AMQPSURL, "queueName": "tls"}
			for k, v := range tc.meta {
				meta[k] = v
			}
			s := build(t, p, meta, tc.auth)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			v, err := s.Measure(ctx)
			if tc.ok && (err != nil || v != 2) {
				t.Errorf("Measure = %v, %v; want 2", v, err)
			}
			if !tc.ok && err == nil {
				t.Error("Measure succeeded, want a TLS failure")
			}
			if err != nil && strings.Contains(err.Error(), r.Password) {
				t.Errorf("error prints the password: %v", err)
			}
		})
	}
}
