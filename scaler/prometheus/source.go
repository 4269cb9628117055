package prometheus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Builder builds prometheus triggers. Triggers with the same TLS settings share one
// http.Transport (keep-alive connections to each server). Safe for concurrent use.
type Builder struct {
	mu         sync.Mutex
	transports map[string]*sharedTransport
}

type sharedTransport struct {
	key  string
	refs int
	t    *http.Transport
}

// NewBuilder returns a Builder.
func NewBuilder() *Builder { return &Builder{transports: map[string]*sharedTransport{}} }

// Build decodes spec and returns a prometheus trigger. It does no I/O.
func (b *Builder) Build(_ context.Context, spec trigger.Spec) (*trigger.Built, error) {
	var c Config
	warnings, err := decode.Decode(spec, &c)
	if err != nil {
		return nil, err
	}
	st := b.acquire(&c)
	client, err := api.NewClient(api.Config{Address: c.ServerAddress, RoundTripper: &roundTripper{cfg: &c, next: st.t}})
	if err != nil {
		b.release(st)
		return nil, decode.Invalid("serverAddress", decode.RedactURL(c.ServerAddress), err.Error(), "an http(s) URL")
	}
	return &trigger.Built{
		Source:     &Source{cfg: c, api: v1.NewAPI(client), builder: b, st: st},
		Rule:       trigger.Rule{Target: c.Threshold, Activation: c.ActivationThreshold},
		MetricHint: Type,
		Warnings:   warnings,
	}, nil
}

func (b *Builder) acquire(c *Config) *sharedTransport {
	h := sha256.Sum256([]byte(fmt.Sprint(c.UnsafeSsl, "\x00", c.CA, "\x00", c.Cert, "\x00", c.Key, "\x00", c.KeyPassword, c.AuthModes)))
	k := hex.EncodeToString(h[:])
	b.mu.Lock()
	defer b.mu.Unlock()
	st, ok := b.transports[k]
	if !ok {
		st = &sharedTransport{key: k, t: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:     c.tlsConfig,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 5 * time.Second,
		}}
		b.transports[k] = st
	}
	st.refs++
	return st
}

func (b *Builder) release(st *sharedTransport) {
	b.mu.Lock()
	st.refs--
	last := st.refs == 0 && b.transports[st.key] == st
	if last {
		delete(b.transports, st.key)
	}
	b.mu.Unlock()
	if last {
		st.t.CloseIdleConnections()
	}
}

// Close closes idle connections of every transport.
func (b *Builder) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range b.transports {
		st.t.CloseIdleConnections()
	}
	return nil
}

// roundTripper adds the trigger's headers, authentication and query parameters.
type roundTripper struct {
	cfg  *Config
	next http.RoundTripper
}

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	c := rt.cfg
	r := req.Clone(req.Context())
	if c.Namespace != "" || len(c.QueryParameters) > 0 {
		q := r.URL.Query()
		if c.Namespace != "" {
			q.Set("namespace", c.Namespace)
		}
		for k, v := range c.QueryParameters {
			q.Set(k, v)
		}
		r.URL.RawQuery = q.Encode()
	}
	for k, v := range c.CustomHeaders {
		r.Header.Add(k, v)
	}
	switch {
	case c.has("bearer"):
		r.Header.Set("Authorization", "Bearer "+c.BearerToken)
	case c.has("basic"):
		r.SetBasicAuth(c.Username, c.Password)
	}
	if c.has("custom") {
		r.Header.Set(c.CustomAuthHeader, c.CustomAuthValue)
	}
	return rt.next.RoundTrip(r)
}

// Source runs one trigger's query.
type Source struct {
	cfg       Config
	api       v1.API
	builder   *Builder
	st        *sharedTransport
	closeOnce sync.Once
}

var _ trigger.Source = (*Source)(nil)

// Measure runs the query and applies the result rules in the package doc.
func (s *Source) Measure(ctx context.Context) (float64, error) {
	d := s.cfg.Timeout
	if _, ok := ctx.Deadline(); !ok && d == 0 {
		d = DefaultTimeout
	}
	if d > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	val, _, _, err := s.api.Query(ctx, s.cfg.Query, time.Time{})
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("prometheus %s: query %q: %w", decode.RedactURL(s.cfg.ServerAddress), s.cfg.Query, err)
	}
	v, err := s.cfg.value(val)
	if err != nil {
		return 0, fmt.Errorf("prometheus %s: query %q: %w", decode.RedactURL(s.cfg.ServerAddress), s.cfg.Query, err)
	}
	return v, nil
}

// Errors of the result rules.
var (
	ErrEmptyResult    = errors.New("empty result (the target may be lost; ignoreNullValues is false)")
	ErrManyElements   = errors.New("returned more than one element; aggregate the query (e.g. sum(...))")
	ErrNotFinite      = errors.New("returned a value that is not a finite number (ignoreNullValues is false)")
	ErrUnsupportedRes = errors.New("returned a result that is neither a vector nor a scalar")
)

// value applies KEDA's result rules to a query result.
func (c *Config) value(val model.Value) (float64, error) {
	var v float64
	switch r := val.(type) {
	case model.Vector:
		switch len(r) {
		case 0:
			if c.IgnoreNullValues {
				return 0, nil
			}
			return 0, ErrEmptyResult
		case 1:
			v = float64(r[0].Value)
		default:
			return 0, fmt.Errorf("%w: %d elements", ErrManyElements, len(r))
		}
	case *model.Scalar:
		v = float64(r.Value)
	default:
		return 0, fmt.Errorf("%w: %s", ErrUnsupportedRes, typeName(val))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		if c.IgnoreNullValues {
			return 0, nil
		}
		return 0, fmt.Errorf("%w: %v", ErrNotFinite, v)
	}
	return v, nil
}

func typeName(v model.Value) string {
	if v == nil {
		return "nothing"
	}
	return v.Type().String()
}

// Close releases the trigger's share of its transport; closing twice is harmless.
func (s *Source) Close() error {
	s.closeOnce.Do(func() { s.builder.release(s.st) })
	return nil
}
