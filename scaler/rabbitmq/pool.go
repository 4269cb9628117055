package rabbitmq

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// ErrPoolClosed is returned by Build and Measure after the Pool was closed.
var ErrPoolClosed = errors.New("rabbitmq: connection pool closed")

// Pool owns the broker connections of every rabbitmq trigger built from it: one AMQP
// connection per broker URL (vhost and credentials included) and TLS settings, one
// HTTP transport per management endpoint. It is safe for concurrent use.
type Pool struct {
	log   logr.Logger
	clock clock.PassiveClock

	mu     sync.Mutex
	amqp   map[string]*amqpBroker
	http   map[string]*httpBroker
	closed bool
}

// NewPool returns an empty Pool that logs with log.
func NewPool(log logr.Logger) *Pool {
	return &Pool{log: log, clock: clock.RealClock{}, amqp: map[string]*amqpBroker{}, http: map[string]*httpBroker{}}
}

// Build decodes spec and returns a rabbitmq trigger whose scaler shares this Pool's
// connections. It does no I/O: the connection opens on the first Measure.
func (p *Pool) Build(_ context.Context, spec trigger.Spec) (*trigger.Built, error) {
	var c Config
	warnings, err := decode.Decode(spec, &c)
	if err != nil {
		return nil, err
	}
	s := &Source{cfg: c, pool: p}
	if c.protocol == ProtocolAMQP {
		s.amqp, err = p.acquireAMQP(&c)
	} else {
		s.http, err = p.acquireHTTP(&c)
	}
	if err != nil {
		return nil, err
	}
	return &trigger.Built{
		Source:     s,
		Rule:       trigger.Rule{Target: c.Value, Activation: c.ActivationValue},
		MetricHint: c.MetricHint(),
		Warnings:   warnings,
	}, nil
}

// Stats describes what a Pool holds.
type Stats struct {
	// AMQPConnections is the number of open AMQP connections.
	AMQPConnections int
	// Brokers is the number of distinct AMQP brokers and HTTP endpoints in use.
	Brokers int
}

// Stats returns what the Pool holds now.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	brokers := make([]*amqpBroker, 0, len(p.amqp))
	for _, b := range p.amqp {
		brokers = append(brokers, b)
	}
	st := Stats{Brokers: len(p.amqp) + len(p.http)}
	p.mu.Unlock()
	for _, b := range brokers {
		if b.connected() {
			st.AMQPConnections++
		}
	}
	return st
}

// Close closes every connection; scalers built from the Pool fail afterwards.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	am, hm := p.amqp, p.http
	p.amqp, p.http = map[string]*amqpBroker{}, map[string]*httpBroker{}
	p.mu.Unlock()
	for _, b := range am {
		b.close()
	}
	for _, h := range hm {
		h.transport.CloseIdleConnections()
	}
	return nil
}

// key hashes the parts of a connection's identity, so credentials never sit in a
// map key that a debugger or a log might print.
func key(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func tlsKey(c *Config) string {
	return fmt.Sprint(c.TLS, c.UnsafeSsl, c.CA, c.Cert, c.Key, c.KeyPassword)
}

func (p *Pool) acquireAMQP(c *Config) (*amqpBroker, error) {
	k := key(c.amqpURL, tlsKey(c))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	b, ok := p.amqp[k]
	if !ok {
		b = newAMQPBroker(p, k, c)
		p.amqp[k] = b
	}
	b.refs++
	return b, nil
}

func (p *Pool) releaseAMQP(b *amqpBroker) {
	p.mu.Lock()
	b.refs--
	last := b.refs == 0 && p.amqp[b.key] == b
	if last {
		delete(p.amqp, b.key)
	}
	p.mu.Unlock()
	if last {
		b.close()
	}
}

// httpBroker is the shared HTTP transport of one management endpoint.
type httpBroker struct {
	key       string
	refs      int
	transport *http.Transport
	client    *http.Client
}

func (p *Pool) acquireHTTP(c *Config) (*httpBroker, error) {
	k := key(c.httpBase, c.Username, c.Password, tlsKey(c))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrPoolClosed
	}
	h, ok := p.http[k]
	if !ok {
		t := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     2,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     cloneTLS(c.tlsConfig),
			ForceAttemptHTTP2:   false,
		}
		h = &httpBroker{key: k, transport: t, client: &http.Client{Transport: t}}
		p.http[k] = h
	}
	h.refs++
	return h, nil
}

func (p *Pool) releaseHTTP(h *httpBroker) {
	p.mu.Lock()
	h.refs--
	last := h.refs == 0 && p.http[h.key] == h
	if last {
		delete(p.http, h.key)
	}
	p.mu.Unlock()
	if last {
		h.transport.CloseIdleConnections()
	}
}

func cloneTLS(t *tls.Config) *tls.Config {
	if t == nil {
		return nil
	}
	return t.Clone()
}
