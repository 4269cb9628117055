package rabbitmq

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"go.uber.org/goleak"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// measureWithin calls Measure with a deadline and checks it returns by then (plus
// slack), returning its error.
func measureWithin(t *testing.T, s trigger.Source, d time.Duration) (float64, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	v, err := s.Measure(ctx)
	if took := time.Since(start); took > d+500*time.Millisecond {
		t.Errorf("Measure took %v with a %v deadline", took, d)
	}
	return v, err
}

// TestBrokerFaults kills and freezes the node under live triggers: Measure must fail
// within its deadline, recover without rebuilding anything once the node is back,
// and leave no goroutine behind.
func TestBrokerFaults(t *testing.T) {
	r := node(t)
	c := dialClient(t, r.AMQPURL)
	c.queue(t, "fault")
	c.publish(t, "fault", 3)
	_ = c.conn.Close()

	leaks := goleak.IgnoreCurrent()
	p := NewPool(testr.New(t))
	overAMQP := build(t, p, m{"host": r.AMQPURL, "queueName": "fault"}, nil)
	overHTTP := build(t, p, m{"host": mgmtHost(r, ""), "queueName": "fault"}, nil)
	eventually(t, overAMQP, 3)
	eventually(t, overHTTP, 3)

	t.Run("killed", func(t *testing.T) {
		if err := r.Kill(); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			for name, s := range map[string]trigger.Source{"amqp": overAMQP, "http": overHTTP} {
				if _, err := measureWithin(t, s, 2*time.Second); err == nil {
					t.Errorf("%s: Measure succeeded with the broker killed", name)
				} else if i == 0 {
					t.Logf("%s while killed: %v", name, err)
				}
			}
		}
		start := time.Now()
		if err := r.Restart(context.Background()); err != nil {
			t.Fatalf("restart: %v", err)
		}
		t.Logf("node restarted in %v", time.Since(start))
		eventually(t, overAMQP, 3) // durable queue, persistent messages
		eventually(t, overHTTP, 3)
	})

	t.Run("frozen", func(t *testing.T) {
		if err := r.Freeze(); err != nil {
			t.Fatal(err)
		}
		thawed := false
		defer func() {
			if !thawed {
				_ = r.Thaw()
			}
		}()
		for name, s := range map[string]trigger.Source{"amqp": overAMQP, "http": overHTTP} {
			if _, err := measureWithin(t, s, time.Second); err == nil {
				t.Errorf("%s: Measure succeeded with the broker frozen", name)
			} else {
				t.Logf("%s while frozen: %v", name, err)
			}
		}
		// The timeout key bounds Measure when the caller sets no deadline.
		withTimeout := build(t, p, m{"host": r.AMQPURL, "queueName": "fault", "timeout": "300"}, nil)
		start := time.Now()
		if _, err := withTimeout.Measure(context.Background()); err == nil || time.Since(start) > 1500*time.Millisecond {
			t.Errorf("timeout 300ms: Measure = %v after %v", err, time.Since(start))
		}
		// An RPC unanswered for `unresponsive` closes the shared connection.
		deadline := time.Now().Add(unresponsive + 3*time.Second)
		for p.Stats().AMQPConnections != 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		if n := p.Stats().AMQPConnections; n != 0 {
			t.Errorf("%d connections to a frozen broker after %v", n, unresponsive)
		}
		if err := r.Thaw(); err != nil {
			t.Fatal(err)
		}
		thawed = true
		eventually(t, overAMQP, 3)
		eventually(t, overHTTP, 3)
	})

	_ = overAMQP.Close()
	_ = overHTTP.Close()
	_ = p.Close()
	goleak.VerifyNone(t, leaks,
		goleak.IgnoreAnyFunction("github.com/surge-autoscaler/surge/test/harness/brokers.startProc.func1"))
}
