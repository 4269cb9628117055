// Package prometheus is the "prometheus" trigger: the value of a PromQL query, with
// KEDA 2.21's metadata keys, authentication modes and result rules, queried through
// github.com/prometheus/client_golang/api/prometheus/v1.
//
// Result rules (KEDA's, each tested):
//   - an empty vector: 0 when ignoreNullValues is true (the default), else an error;
//   - a vector with more than one element: an error (aggregate the query, e.g. sum());
//   - NaN or ±Inf: 0 when ignoreNullValues is true, else an error;
//   - a scalar: its value (KEDA's docs allow "vector/scalar"); a matrix or a string:
//     an error.
//
// The query is sent without a time parameter, so Prometheus evaluates it at its own
// "now" (no clock skew between surge and Prometheus). Authentication: authModes
// bearer, basic, tls and custom (KEDA's custom header), from TriggerAuthentication;
// ca applies with any mode. Cloud identities (awsRegion, identityOwner, pod
// identities) and the oauth/apiKey modes are not supported.
package prometheus

import (
	"crypto/tls"
	"errors"
	"net/url"
	"slices"
	"time"

	"github.com/surge-autoscaler/surge/scaler/decode"
)

// Type is the trigger type.
const Type = "prometheus"

// DefaultTimeout bounds a query when neither timeout nor the caller's context sets a
// deadline (KEDA_HTTP_DEFAULT_TIMEOUT's default).
const DefaultTimeout = 3 * time.Second

// Config is the prometheus trigger's metadata.
type Config struct {
	ServerAddress       string            `surge:"serverAddress,required,secret=userinfo"`
	Query               string            `surge:"query,required"`
	QueryParameters     map[string]string `surge:"queryParameters"`
	Threshold           float64           `surge:"threshold,required,gt=0"`
	ActivationThreshold float64           `surge:"activationThreshold,default=0"`
	Namespace           string            `surge:"namespace"`
	CustomHeaders       map[string]string `surge:"customHeaders"`
	IgnoreNullValues    bool              `surge:"ignoreNullValues,default=true"`
	UnsafeSsl           bool              `surge:"unsafeSsl"`
	Timeout             time.Duration     `surge:"timeout"`
	MetricName          string            `surge:"metricName,deprecated=ignored: metric names are derived (KEDA removed the key in 2.12)"`

	AuthModes        []string `surge:"authModes,from=meta|auth,alias=authMode"`
	BearerToken      string   `surge:"bearerToken,from=auth,secret,alias=token"`
	Username         string   `surge:"username,from=auth,secret"`
	Password         string   `surge:"password,from=auth,secret"`
	CA               string   `surge:"ca,from=auth,secret"`
	Cert             string   `surge:"cert,from=auth,secret"`
	Key              string   `surge:"key,from=auth,secret"`
	KeyPassword      string   `surge:"keyPassword,from=auth,secret"`
	CustomAuthHeader string   `surge:"customAuthHeader,from=auth,secret"`
	CustomAuthValue  string   `surge:"customAuthValue,from=auth,secret"`

	AWSRegion     string `surge:"awsRegion,from=meta|auth,unsupported=Amazon Managed Prometheus with AWS identities (use bearer, basic, tls or custom authModes)"`
	IdentityOwner string `surge:"identityOwner,unsupported=cloud pod identities (use bearer, basic, tls or custom authModes)"`

	// Derived by Validate.
	tlsConfig *tls.Config
	server    *url.URL
}

var supportedModes = []string{"bearer", "basic", "tls", "custom"}

// Validate checks the server address and the authentication modes.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.ServerAddress)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, decode.Invalid("serverAddress", c.ServerAddress, "is not an http(s) URL", "http://prometheus:9090 or https://host/path/prefix"))
	} else {
		c.server = u
	}
	for _, m := range c.AuthModes {
		switch {
		case slices.Contains(supportedModes, m):
		case m == "oauth" || m == "apiKey":
			errs = append(errs, decode.Unsupported("authModes", m, "the "+m+" mode (use bearer, basic, tls or custom)"))
		default:
			errs = append(errs, decode.Invalid("authModes", m, "is not an authentication mode", "a comma-separated list of bearer, basic, tls, custom"))
		}
	}
	if c.has("bearer") && c.has("basic") {
		errs = append(errs, decode.Invalid("authModes", "", "bearer and basic cannot be combined", "one of bearer or basic (with tls and custom if needed)"))
	}
	need := func(mode, key, value string) {
		if c.has(mode) && value == "" {
			errs = append(errs, decode.Invalid(key, "", "is required with authModes "+mode, "set it in the TriggerAuthentication"))
		}
	}
	need("bearer", "bearerToken", c.BearerToken)
	need("basic", "username", c.Username)
	need("tls", "cert", c.Cert)
	need("tls", "key", c.Key)
	need("custom", "customAuthHeader", c.CustomAuthHeader)
	need("custom", "customAuthValue", c.CustomAuthValue)
	if c.CA != "" || c.has("tls") || c.UnsafeSsl {
		cert, key := "", ""
		if c.has("tls") {
			cert, key = c.Cert, c.Key
		}
		t, err := decode.TLSConfig(c.CA, cert, key, c.KeyPassword, c.UnsafeSsl)
		if err != nil {
			errs = append(errs, err)
		}
		c.tlsConfig = t
	}
	return errors.Join(errs...)
}

func (c *Config) has(mode string) bool { return slices.Contains(c.AuthModes, mode) }
