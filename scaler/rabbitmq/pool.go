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
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/refcount"
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
	amqp  *refcount.Map[*amqpBroker]
	http  *refcount.Map[*httpBroker]
}

// NewPool returns an empty Pool that logs with log.
func NewPool(log logr.Logger) *Pool {
	return &Pool{log: log, clock: clock.RealClock{},
		amqp: refcount.New((*amqpBroker).close, ErrPoolClosed),
		http: refcount.New(func(h *httpBroker) { h.transport.CloseIdleConnections() }, ErrPoolClosed)}
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
	brokers := p.amqp.Values()
	st := Stats{Brokers: len(brokers) + p.http.Len()}
	for _, b := range brokers {
		if b.connected() {
			st.AMQPConnections++
		}
	}
	return st
}

// Close closes every connection; Sources built from the Pool fail afterwards.
func (p *Pool) Close() error {
	p.amqp.Close()
	p.http.Close()
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
	return p.amqp.Acquire(k, func() (*amqpBroker, error) { return newAMQPBroker(p, k, c), nil })
}

func (p *Pool) releaseAMQP(b *amqpBroker) { p.amqp.Release(b.key, b) }

// httpBroker is the shared HTTP transport of one management endpoint.
type httpBroker struct {
	key       string
	transport *http.Transport
	client    *http.Client
}

func (p *Pool) acquireHTTP(c *Config) (*httpBroker, error) {
	k := key(c.httpBase, c.Username, c.Password, tlsKey(c))
	return p.http.Acquire(k, func() (*httpBroker, error) {
		t := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     2,
			MaxIdleConnsPerHost: 2,
			IdleConnTimeout:     90 * time.Second,
			TLSClientConfig:     cloneTLS(c.tlsConfig),
			ForceAttemptHTTP2:   false,
		}
		return &httpBroker{key: k, transport: t, client: &http.Client{Transport: t}}, nil
	})
}

func (p *Pool) releaseHTTP(h *httpBroker) { p.http.Release(h.key, h) }

func cloneTLS(t *tls.Config) *tls.Config {
	if t == nil {
		return nil
	}
	return t.Clone()
}
