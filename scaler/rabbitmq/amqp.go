package rabbitmq

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/surge-autoscaler/surge/scaler/decode"
)

const (
	minBackoff   = 100 * time.Millisecond
	maxBackoff   = 5 * time.Second
	maxIdleChans = 64
	// maxInFlight bounds concurrent passive declares per connection (and so the
	// channels open at once); further Measures wait for a slot, honouring ctx.
	maxInFlight = 64
	// unresponsive is how long one RPC may stay unanswered before the connection is
	// declared dead and closed (which ends every call waiting on it). A caller's own
	// deadline only ends its wait: under load a declare may legitimately take longer
	// than one caller's deadline, and closing the shared connection then would fail
	// every other trigger on it.
	unresponsive = 5 * time.Second
	closeTimeout = 2 * time.Second
)

// amqpBroker is one shared AMQP connection with a pool of channels.
type amqpBroker struct {
	pool    *Pool
	key     string
	url     string // with credentials: never printed
	display string // url without userinfo
	tls     *tls.Config

	mu      sync.Mutex
	conn    *amqp.Connection
	idle    []*amqp.Channel
	slots   chan struct{} // one token per passive declare in flight
	dialing chan struct{} // closed when the dial in flight ends
	backoff time.Duration
	retryAt time.Time
	lastErr error
	closed  bool
}

func newAMQPBroker(p *Pool, k string, c *Config) *amqpBroker {
	return &amqpBroker{pool: p, key: k, url: c.amqpURL, display: decode.RedactURL(c.amqpURL), tls: cloneTLS(c.tlsConfig),
		slots: make(chan struct{}, maxInFlight)}
}

func (b *amqpBroker) connected() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.conn != nil && !b.conn.IsClosed()
}

// acquire returns the live connection and an idle channel (nil if none is idle),
// dialling first if needed. Only one dial runs at a time; while the backoff after a
// failed dial lasts, acquire fails at once.
func (b *amqpBroker) acquire(ctx context.Context) (*amqp.Connection, *amqp.Channel, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, nil, ErrPoolClosed
		}
		if conn, ch, ok := b.liveLocked(); ok {
			b.mu.Unlock()
			return conn, ch, nil
		}
		if wait := b.dialing; wait != nil {
			b.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			}
		}
		if now := b.pool.clock.Now(); now.Before(b.retryAt) {
			err := fmt.Errorf("not connected to %s, next attempt in %v: %w", b.display, b.retryAt.Sub(now).Round(time.Millisecond), b.lastErr)
			b.mu.Unlock()
			return nil, nil, err
		}
		done := make(chan struct{})
		b.dialing = done
		b.mu.Unlock()
		if err := b.connect(ctx, done); err != nil {
			return nil, nil, err
		}
	}
}

// liveLocked returns the connection and an idle channel (nil if none is idle) when
// the connection is open; a connection closed under us (broker gone) is dropped.
// b.mu is held.
func (b *amqpBroker) liveLocked() (*amqp.Connection, *amqp.Channel, bool) {
	if b.conn == nil {
		return nil, nil, false
	}
	if b.conn.IsClosed() {
		b.pool.log.Info("rabbitmq connection lost", "broker", b.display)
		b.conn, b.idle = nil, nil
		return nil, nil, false
	}
	var ch *amqp.Channel
	for len(b.idle) > 0 && ch == nil {
		ch = b.idle[len(b.idle)-1]
		b.idle = b.idle[:len(b.idle)-1]
		if ch.IsClosed() {
			ch = nil
		}
	}
	return b.conn, ch, true
}

// connect dials once on behalf of everyone waiting on done, then records the
// connection, or the error and the next attempt's time (exponential backoff with
// jitter).
func (b *amqpBroker) connect(ctx context.Context, done chan struct{}) error {
	conn, err := b.dial(ctx)
	b.mu.Lock()
	b.dialing = nil
	close(done)
	if err != nil {
		b.backoff = min(max(2*b.backoff, minBackoff), maxBackoff)
		jitter := time.Duration(rand.Int64N(int64(b.backoff) / 5))
		b.retryAt = b.pool.clock.Now().Add(b.backoff + jitter)
		b.lastErr = err
		b.mu.Unlock()
		return err
	}
	if b.closed {
		b.mu.Unlock()
		_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
		return ErrPoolClosed
	}
	b.conn, b.backoff, b.lastErr = conn, 0, nil
	b.pool.log.V(1).Info("rabbitmq connected", "broker", b.display)
	b.mu.Unlock()
	return nil
}

// dial opens the connection, bounded by ctx (TCP, TLS and AMQP handshakes).
func (b *amqpBroker) dial(ctx context.Context) (*amqp.Connection, error) {
	cfg := amqp.Config{
		Properties:      amqp.Table{"connection_name": "surge-scaler"},
		TLSClientConfig: cloneTLS(b.tls),
		Dial: func(network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			dl, ok := ctx.Deadline()
			if !ok {
				dl = time.Now().Add(DefaultTimeout)
			}
			_ = c.SetDeadline(dl) // cleared by amqp091 once the handshake is done
			return c, nil
		},
	}
	if b.tls != nil && len(b.tls.Certificates) > 0 && !hasUserinfo(b.url) {
		cfg.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	}
	conn, err := amqp.DialConfig(b.url, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", b.display, scrub(err, b.url))
	}
	return conn, nil
}

func hasUserinfo(u string) bool {
	uri, err := amqp.ParseURI(u)
	return err == nil && uri.Username != "" && uri.Username != "guest"
}

// scrub replaces any echo of the dial URL in err with its redacted form (amqp091
// does not print it; this guards wrapped errors that might).
func scrub(err error, url string) error {
	if err != nil && strings.Contains(err.Error(), url) {
		return errors.New(strings.ReplaceAll(err.Error(), url, decode.RedactURL(url)))
	}
	return err
}

// release returns a healthy channel to the idle pool.
func (b *amqpBroker) release(conn *amqp.Connection, ch *amqp.Channel) {
	b.mu.Lock()
	if b.conn == conn && !b.closed && len(b.idle) < maxIdleChans && !ch.IsClosed() {
		b.idle = append(b.idle, ch)
		b.mu.Unlock()
		return
	}
	b.mu.Unlock()
	_ = ch.Close()
}

// drop forgets conn if it is still current and closes it in the background (its
// close handshake is bounded), which ends every call waiting on it.
func (b *amqpBroker) drop(conn *amqp.Connection, why error) {
	b.mu.Lock()
	current := b.conn == conn
	if current {
		b.conn, b.idle = nil, nil
	}
	b.mu.Unlock()
	if current {
		b.pool.log.Info("rabbitmq connection dropped", "broker", b.display, "reason", why.Error())
		go func() { _ = conn.CloseDeadline(time.Now().Add(closeTimeout)) }()
	}
}

func (b *amqpBroker) close() {
	b.mu.Lock()
	b.closed = true
	conn := b.conn
	b.conn, b.idle = nil, nil
	b.mu.Unlock()
	if conn != nil {
		_ = conn.CloseDeadline(time.Now().Add(closeTimeout))
	}
}

var errUnresponsive = fmt.Errorf("no answer within %v", unresponsive)

type declared struct {
	q   amqp.Queue
	err error
}

// declarePassive returns the queue's ready-message count. The RPC runs in a goroutine
// that cleans up after itself, so a caller whose ctx ends returns at once; an RPC
// unanswered for longer than unresponsive closes the connection, which ends it.
func (b *amqpBroker) declarePassive(ctx context.Context, queue string) (amqp.Queue, error) {
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return amqp.Queue{}, fmt.Errorf("queue %q on %s: waiting for a channel: %w", queue, b.display, ctx.Err())
	}
	conn, ch, err := b.acquire(ctx)
	if err != nil {
		<-b.slots
		return amqp.Queue{}, err
	}
	done := make(chan declared, 1)
	go func() {
		defer func() { <-b.slots }()
		done <- b.declareOn(conn, ch, queue)
	}()
	select {
	case r := <-done:
		return r.q, r.err
	case <-ctx.Done():
		return amqp.Queue{}, fmt.Errorf("queue %q on %s: %w", queue, b.display, ctx.Err())
	}
}

func (b *amqpBroker) declareOn(conn *amqp.Connection, ch *amqp.Channel, queue string) declared {
	watchdog := time.AfterFunc(unresponsive, func() { b.drop(conn, errUnresponsive) })
	defer watchdog.Stop()
	var err error
	if ch == nil {
		if ch, err = conn.Channel(); err != nil {
			if conn.IsClosed() {
				b.drop(conn, err)
			}
			return declared{err: fmt.Errorf("open channel on %s: %w", b.display, err)}
		}
	}
	q, err := ch.QueueDeclarePassive(queue, false, false, false, false, nil)
	if err == nil {
		b.release(conn, ch)
		return declared{q: q}
	}
	// A failed passive declare closes its channel (404, 403); a connection error
	// closes the connection. Either way this channel is not reused.
	_ = ch.Close()
	if conn.IsClosed() {
		b.drop(conn, err)
	}
	var ae *amqp.Error
	if errors.As(err, &ae) && ae.Code == amqp.NotFound {
		return declared{err: fmt.Errorf("queue %q on %s: not found: %w", queue, b.display, err)}
	}
	return declared{err: fmt.Errorf("queue %q on %s: %w", queue, b.display, err)}
}
