package amqpconfirm

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// fakeChannel records what a Publisher asks of the broker. The next error of each
// call is set by the test; each publish is confirmed with ack unless nack lists its id.
// It is safe for concurrent use and never mutates its inputs.
type fakeChannel struct {
	mu                                 sync.Mutex
	declared                           []string
	confirmMode, closed                bool
	published                          []string
	msgs                               []amqp.Publishing
	nack                               map[string]bool
	declareErr, confirmErr, publishErr error
	waitErr, purgeErr, closeErr        error
	purged                             int
}

func (c *fakeChannel) QueueDeclare(name string, durable, autoDelete, exclusive, noWait bool, args amqp.Table) (amqp.Queue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !durable || autoDelete || exclusive || noWait || args != nil {
		return amqp.Queue{}, errors.New("queue declared with unexpected options")
	}
	c.declared = append(c.declared, name)
	return amqp.Queue{Name: name}, c.declareErr
}

func (c *fakeChannel) Confirm(noWait bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.confirmMode = c.confirmErr == nil && !noWait
	return c.confirmErr
}

func (c *fakeChannel) QueuePurge(name string, _ bool) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.purgeErr != nil {
		return 0, c.purgeErr
	}
	return c.purged, nil
}

func (c *fakeChannel) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	return c.closeErr
}

func (c *fakeChannel) publish(_ context.Context, queue string, msg amqp.Publishing) (confirmation, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.publishErr != nil {
		return nil, c.publishErr
	}
	c.published = append(c.published, queue)
	c.msgs = append(c.msgs, msg)
	return fakeConfirmation{ack: !c.nack[msg.MessageId], err: c.waitErr}, nil
}

type fakeConfirmation struct {
	ack bool
	err error
}

func (f fakeConfirmation) WaitContext(ctx context.Context) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	return f.ack, f.err
}

func TestOpen(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name         string
		declare      bool
		ch           *fakeChannel
		wantDeclared int
		wantErr      string
	}{
		{name: "declare", declare: true, ch: &fakeChannel{}, wantDeclared: 1},
		{name: "no declare", ch: &fakeChannel{}},
		{name: "declare fails", declare: true, ch: &fakeChannel{declareErr: boom}, wantDeclared: 1,
			wantErr: `declare queue "q": boom`},
		{name: "confirm mode fails", ch: &fakeChannel{confirmErr: boom}, wantErr: "confirm mode: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := open(tt.ch, "q", tt.declare)
			if len(tt.ch.declared) != tt.wantDeclared {
				t.Errorf("declared %v, want %d declarations", tt.ch.declared, tt.wantDeclared)
			}
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, boom) {
					t.Fatalf("err = %v, want %q wrapping the cause", err, tt.wantErr)
				}
				if p != nil || !tt.ch.closed {
					t.Fatalf("publisher %v, channel closed %v: want none and the channel closed", p, tt.ch.closed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.ch.confirmMode || tt.ch.closed {
				t.Fatalf("confirm mode %v, closed %v: want a channel in confirm mode, open", tt.ch.confirmMode, tt.ch.closed)
			}
		})
	}
}

func TestPublishSendsPersistentJSONToTheQueue(t *testing.T) {
	ch := &fakeChannel{}
	p, err := open(ch, "work", false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Unix(1700000000, 123)
	c, err := p.Publish(context.Background(), "run-000001", at, []byte(`{"id":"run-000001"}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := c(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(ch.msgs) != 1 || ch.published[0] != "work" {
		t.Fatalf("published %v to %v, want one message to queue work", ch.msgs, ch.published)
	}
	m := ch.msgs[0]
	if m.DeliveryMode != amqp.Persistent || m.ContentType != "application/json" || m.MessageId != "run-000001" ||
		!m.Timestamp.Equal(at) || string(m.Body) != `{"id":"run-000001"}` {
		t.Fatalf("published %+v", m)
	}
}

func TestConfirmErrors(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name      string
		ch        *fakeChannel
		ctx       context.Context
		wantErr   string
		wantCause error
	}{
		{name: "acked", ch: &fakeChannel{}, ctx: context.Background()},
		{name: "nacked", ch: &fakeChannel{nack: map[string]bool{"m1": true}}, ctx: context.Background(),
			wantErr: `broker nacked "m1"`},
		{name: "wait fails", ch: &fakeChannel{waitErr: amqp.ErrClosed}, ctx: context.Background(),
			wantErr: `confirm of "m1": `, wantCause: amqp.ErrClosed},
		{name: "context ends", ch: &fakeChannel{}, ctx: cancelled,
			wantErr: `confirm of "m1": `, wantCause: context.Canceled},
		{name: "publish fails", ch: &fakeChannel{publishErr: boom}, ctx: context.Background(),
			wantErr: `publish "m1": boom`, wantCause: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := open(tt.ch, "q", false)
			if err != nil {
				t.Fatal(err)
			}
			err = p.Send(tt.ctx, "m1", time.Time{}, nil)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want starting %q", err, tt.wantErr)
			}
			if tt.wantCause != nil && !errors.Is(err, tt.wantCause) {
				t.Fatalf("err = %v, want wrapping %v", err, tt.wantCause)
			}
		})
	}
}

func TestEachConfirmReportsItsOwnMessage(t *testing.T) {
	// Three publishes before any wait, as the load generator does; the middle one is
	// nacked and only its Confirm fails.
	ch := &fakeChannel{nack: map[string]bool{"b": true}}
	p, err := open(ch, "q", false)
	if err != nil {
		t.Fatal(err)
	}
	var confirms []Confirm
	for _, id := range []string{"a", "b", "c"} {
		c, err := p.Publish(context.Background(), id, time.Time{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		confirms = append(confirms, c)
	}
	for i, want := range []bool{true, false, true} {
		if err := confirms[i](context.Background()); (err == nil) != want {
			t.Errorf("confirm %d: err = %v, want ok %v", i, err, want)
		}
	}
}

func TestPurgeAndClose(t *testing.T) {
	ch := &fakeChannel{purged: 7}
	p, err := open(ch, "q", false)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := p.Purge(); n != 7 || err != nil {
		t.Fatalf("Purge = %d, %v; want 7, nil", n, err)
	}
	ch.purgeErr = errors.New("boom")
	if _, err := p.Purge(); err == nil || !strings.Contains(err.Error(), `purge queue "q"`) {
		t.Fatalf("Purge err = %v", err)
	}
	ch.closeErr = amqp.ErrClosed
	if err := p.Close(); err != nil || !ch.closed {
		t.Fatalf("Close of a closed channel = %v (closed %v), want nil", err, ch.closed)
	}
	ch.closeErr = errors.New("boom")
	if err := p.Close(); err == nil {
		t.Fatal("Close hid an error")
	}
}
