package rabbitmq

import (
	"crypto/tls"
	"errors"
	"net/url"
	"path"
	"strings"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/surge-autoscaler/surge/scaler/decode"
)

// Type is the trigger type.
const Type = "rabbitmq"

// Modes and protocols.
const (
	ModeQueueLength    = "QueueLength"
	ModeMessageRate    = "MessageRate"
	ModeDeliverGetRate = "DeliverGetRate"

	ProtocolAuto = "auto"
	ProtocolAMQP = "amqp"
	ProtocolHTTP = "http"

	// DefaultValue is KEDA's queue length target when none is given.
	DefaultValue = 20
	// DefaultTimeout bounds a measurement when neither timeout nor the caller's
	// context sets a deadline (KEDA_HTTP_DEFAULT_TIMEOUT's default).
	DefaultTimeout = 3 * time.Second
)

// Config is the rabbitmq trigger's metadata, with KEDA 2.21's keys and defaults.
type Config struct {
	Host            string  `surge:"host,required,from=meta|auth|env,secret=userinfo"`
	Protocol        string  `surge:"protocol,from=meta|auth,default=auto,enum=auto|amqp|http"`
	Mode            string  `surge:"mode,enum=QueueLength|MessageRate|DeliverGetRate|PublishedToDeliveredRatio|ExpectedQueueConsumptionTime"`
	Value           float64 `surge:"value,gt=0"`
	ActivationValue float64 `surge:"activationValue,default=0"`
	QueueLength     float64 `surge:"queueLength,gt=0,deprecated=use mode: QueueLength and value"`
	QueueName       string  `surge:"queueName,required"`
	VhostName       string  `surge:"vhostName,from=meta|auth,alias=vHostName"`
	MetricName      string  `surge:"metricName,deprecated=ignored: metric names are derived (KEDA removed the key in 2.12)"`

	UseRegex              bool          `surge:"useRegex"`
	Operation             string        `surge:"operation,default=sum,enum=sum|max|avg"`
	PageSize              int64         `surge:"pageSize,default=100,min=1"`
	ExcludeUnacknowledged bool          `surge:"excludeUnacknowledged"`
	Timeout               time.Duration `surge:"timeout"`
	UnsafeSsl             bool          `surge:"unsafeSsl"`

	Username    string `surge:"username,from=auth|env,secret"`
	Password    string `surge:"password,from=auth|env,secret"`
	TLS         string `surge:"tls,from=auth,default=disable,enum=enable|disable"`
	CA          string `surge:"ca,from=auth,secret"`
	Cert        string `surge:"cert,from=auth,secret"`
	Key         string `surge:"key,from=auth,secret"`
	KeyPassword string `surge:"keyPassword,from=auth,secret"`

	WorkloadIdentityResource string `surge:"workloadIdentityResource,from=auth,unsupported=Azure workload identity; use username and password"`
	OAuthTokenURI            string `surge:"oauthTokenURI,from=auth,unsupported=OAuth2; use username and password"`
	ClientID                 string `surge:"clientID,from=auth,unsupported=OAuth2; use username and password"`
	ClientSecret             string `surge:"clientSecret,from=auth,unsupported=OAuth2; use username and password"`

	// Derived by Validate.
	protocol  string      // amqp or http
	tlsConfig *tls.Config // nil unless tls: enable or unsafeSsl
	amqpURL   string      // amqp: dial URL with credentials and vhost applied
	httpBase  string      // http: scheme://host[:port][/prefix], no userinfo
	httpVhost string      // http: the vhost
}

// Validate applies KEDA's rules for mode/value/queueLength, resolves protocol auto
// from the host's scheme, and checks what each protocol supports.
func (c *Config) Validate() error {
	var errs []error
	if err := c.resolveMode(); err != nil {
		errs = append(errs, err)
	}
	if err := c.resolveProtocol(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if c.protocol == ProtocolAMQP {
		if c.UseRegex {
			errs = append(errs, decode.Invalid("useRegex", "true", "needs the http protocol (the management API)", "false, or an http:// host"))
		}
		if c.ExcludeUnacknowledged {
			errs = append(errs, decode.Invalid("excludeUnacknowledged", "true", "needs the http protocol (amqp counts ready messages only anyway)", "false, or an http:// host"))
		}
		if c.Mode != ModeQueueLength && c.Mode != "" {
			errs = append(errs, decode.Invalid("mode", c.Mode, "needs the http protocol (rates come from the management API)", "QueueLength with amqp"))
		}
	}
	if (c.Username == "") != (c.Password == "") {
		errs = append(errs, decode.Invalid("username", "", "username and password must be given together", "both, or neither"))
	}
	if c.TLS == "enable" || c.UnsafeSsl {
		t, err := decode.TLSConfig(c.CA, c.Cert, c.Key, c.KeyPassword, c.UnsafeSsl)
		if err != nil {
			errs = append(errs, err)
		}
		c.tlsConfig = t
	}
	if len(errs) == 0 {
		errs = append(errs, c.buildEndpoints())
	}
	return errors.Join(errs...)
}

func (c *Config) resolveMode() error {
	switch {
	case c.QueueLength == 0 && c.Mode == "" && c.Value == 0:
		c.Mode, c.Value = ModeQueueLength, DefaultValue
	case c.QueueLength != 0 && (c.Mode != "" || c.Value != 0):
		return decode.Invalid("queueLength", "", "is deprecated and cannot be combined with mode or value", "mode and value only")
	case c.QueueLength != 0:
		c.Mode, c.Value = ModeQueueLength, c.QueueLength
	case c.Mode == "":
		return decode.Invalid("mode", "", "is required when value is given", "QueueLength, MessageRate, DeliverGetRate")
	case c.Value == 0:
		return decode.Invalid("value", "", "is required when mode is given", "a number > 0")
	}
	switch c.Mode {
	case "PublishedToDeliveredRatio", "ExpectedQueueConsumptionTime":
		return decode.Unsupported("mode", c.Mode, "its activity rule is not value > activationValue; use QueueLength, MessageRate or DeliverGetRate")
	}
	return nil
}

func (c *Config) resolveProtocol() error {
	u, err := url.Parse(c.Host)
	if err != nil {
		return decode.Invalid("host", c.Host, "is not a URL", "amqp://host:5672/vhost or http://host:15672/vhost")
	}
	var fromScheme string
	switch u.Scheme {
	case "amqp", "amqps":
		fromScheme = ProtocolAMQP
	case "http", "https":
		fromScheme = ProtocolHTTP
	default:
		return decode.Invalid("host", c.Host, "has no amqp://, amqps://, http:// or https:// scheme", "amqp://host:5672/vhost or http://host:15672/vhost")
	}
	if c.Protocol != ProtocolAuto && c.Protocol != fromScheme {
		return decode.Invalid("protocol", c.Protocol, "does not match the host's scheme "+u.Scheme, fromScheme+" or auto")
	}
	c.protocol = fromScheme
	return nil
}

// buildEndpoints applies vhostName and credentials to the host.
func (c *Config) buildEndpoints() error {
	if c.protocol == ProtocolAMQP {
		uri, err := amqp.ParseURI(c.Host)
		if err != nil {
			return decode.Invalid("host", c.Host, "is not an AMQP URI", "amqp://[user:password@]host[:port][/vhost]")
		}
		if c.VhostName != "" {
			uri.Vhost = c.VhostName
		}
		if c.Username != "" {
			uri.Username, uri.Password = c.Username, c.Password
		}
		c.amqpURL = uri.String()
		return nil
	}
	u, err := url.Parse(c.Host)
	if err != nil || u.Host == "" {
		return decode.Invalid("host", c.Host, "is not an HTTP URL", "http://[user:password@]host:15672[/path]/vhost")
	}
	if c.Username == "" && u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	// KEDA: the last path segment is the vhost, what precedes it a path prefix.
	p := u.EscapedPath()
	segs := strings.Split(p, "/")
	vhost, _ := url.PathUnescape(segs[len(segs)-1])
	prefix := path.Join(segs[:len(segs)-1]...)
	if prefix != "" && prefix != "." {
		prefix = "/" + prefix
	} else {
		prefix = ""
	}
	if c.VhostName != "" {
		vhost = c.VhostName
	}
	if vhost == "" {
		vhost = "/"
	}
	c.httpBase = u.Scheme + "://" + u.Host + prefix
	c.httpVhost = vhost
	return nil
}

// MetricHint is "rabbitmq-<queue>" made DNS-label safe.
func (c *Config) MetricHint() string { return decode.Label(Type, c.QueueName) }
