package kafka

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/refcount"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// ErrPoolClosed is returned by Build and Measure after the Pool was closed.
var ErrPoolClosed = errors.New("kafka: connection pool closed")

// Pool shares one kafka-go Transport (its connections, one per broker, and its
// metadata cache) among every trigger on the same cluster with the same credentials
// and TLS settings. It is safe for concurrent use.
type Pool struct {
	log    logr.Logger
	shared *refcount.Map[*transport]
}

type transport struct {
	key string
	t   *kafkago.Transport
}

// NewPool returns an empty Pool that logs with log.
func NewPool(log logr.Logger) *Pool {
	return &Pool{log: log, shared: refcount.New(func(t *transport) { t.t.CloseIdleConnections() }, ErrPoolClosed)}
}

// Build decodes spec and returns a kafka trigger on this Pool's transports. It does
// no I/O.
func (p *Pool) Build(_ context.Context, spec trigger.Spec) (*trigger.Built, error) {
	var c Config
	warnings, err := decode.Decode(spec, &c)
	if err != nil {
		return nil, err
	}
	t, err := p.acquire(&c)
	if err != nil {
		return nil, err
	}
	s := &Source{
		cfg:    c,
		pool:   p,
		tr:     t,
		client: &kafkago.Client{Addr: kafkago.TCP(c.BootstrapServers...), Transport: t.t},
		prev:   map[string]map[int]int64{},
	}
	return &trigger.Built{
		Source:     s,
		Rule:       trigger.Rule{Target: float64(c.LagThreshold), Activation: float64(c.ActivationLagThreshold)},
		MetricHint: c.MetricHint(),
		Warnings:   warnings,
	}, nil
}

// Transports returns how many shared transports the Pool holds.
func (p *Pool) Transports() int { return p.shared.Len() }

// Close closes every transport's connections.
func (p *Pool) Close() error {
	p.shared.Close()
	return nil
}

func (p *Pool) acquire(c *Config) (*transport, error) {
	servers := append([]string(nil), c.BootstrapServers...)
	sort.Strings(servers)
	h := sha256.Sum256([]byte(strings.Join([]string{strings.Join(servers, ","), c.SASL, c.Username, c.Password,
		c.TLS, fmt.Sprint(c.UnsafeSsl), c.CA, c.Cert, c.Key, c.KeyPassword}, "\x00")))
	k := hex.EncodeToString(h[:])
	return p.shared.Acquire(k, func() (*transport, error) {
		mech, err := mechanism(c)
		if err != nil {
			return nil, err
		}
		return &transport{key: k, t: &kafkago.Transport{
			Dial:        (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			DialTimeout: 5 * time.Second,
			ClientID:    "surge-scaler",
			TLS:         c.tlsConfig,
			SASL:        mech,
		}}, nil
	})
}

func (p *Pool) release(t *transport) { p.shared.Release(t.key, t) }

func mechanism(c *Config) (sasl.Mechanism, error) {
	switch c.SASL {
	case "plaintext":
		return plain.Mechanism{Username: c.Username, Password: c.Password}, nil
	case "scram_sha256", "scram_sha512":
		algo := scram.SHA256
		if c.SASL == "scram_sha512" {
			algo = scram.SHA512
		}
		m, err := scram.Mechanism(algo, c.Username, c.Password)
		if err != nil {
			return nil, fmt.Errorf("kafka: SASL %s: %w", c.SASL, err)
		}
		return m, nil
	}
	return nil, nil
}
