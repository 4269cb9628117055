package rabbitmq

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

func TestConfigTags(t *testing.T) {
	if err := decode.Check(&Config{}); err != nil {
		t.Fatal(err)
	}
}

type m = map[string]string

// kedaDocExamples are the trigger blocks of KEDA 2.21's RabbitMQ page, restated: each
// must decode, or be refused with an unsupported-feature error.
var kedaDocExamples = []struct {
	name        string
	meta, auth  m
	env         m
	protocol    string
	mode        string
	value       float64
	vhost       string
	unsupported string
}{
	{name: "trigger specification", meta: m{"host": "amqp://localhost:5672/vhost", "protocol": "auto", "mode": "QueueLength",
		"value": "100.50", "activationValue": "10.5", "queueName": "testqueue", "vhostName": "/", "unsafeSsl": "true", "timeout": "1000"},
		protocol: "amqp", mode: "QueueLength", value: 100.5, vhost: "/"},
	{name: "spec with FromEnv", meta: m{"hostFromEnv": "RABBITMQ_HOST", "usernameFromEnv": "RABBITMQ_USERNAME", "passwordFromEnv": "RABBITMQ_PASSWORD",
		"mode": "QueueLength", "value": "5", "queueName": "q"},
		env: m{"RABBITMQ_HOST": "amqp://broker:5672/", "RABBITMQ_USERNAME": "u", "RABBITMQ_PASSWORD": "p"}, protocol: "amqp", mode: "QueueLength", value: 5, vhost: "/"},
	{name: "amqp with host and vhost in auth", meta: m{"protocol": "amqp", "queueName": "testqueue", "mode": "QueueLength", "value": "20"},
		auth: m{"host": "amqp://guest:password@localhost:5672", "vhostName": "vhost"}, protocol: "amqp", mode: "QueueLength", value: 20, vhost: "vhost"},
	{name: "amqp with username and password", meta: m{"protocol": "amqp", "queueName": "testqueue", "mode": "QueueLength", "value": "20"},
		auth: m{"host": "amqp://localhost:5672/vhost", "username": "u", "password": "p"}, protocol: "amqp", mode: "QueueLength", value: 20, vhost: "vhost"},
	{name: "amqps with tls", meta: m{"protocol": "amqp", "queueName": "testqueue", "mode": "QueueLength", "value": "20"},
		auth:     m{"host": "amqps://guest:password@localhost:5671/vhost", "tls": "enable", "ca": testCA, "cert": testCert, "key": testKey},
		protocol: "amqp", mode: "QueueLength", value: 20, vhost: "vhost"},
	{name: "http queue length", meta: m{"protocol": "http", "queueName": "testqueue", "mode": "QueueLength", "value": "20"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, protocol: "http", mode: "QueueLength", value: 20, vhost: "vhost"},
	{name: "http message rate", meta: m{"protocol": "http", "queueName": "testqueue", "mode": "MessageRate", "value": "100"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, protocol: "http", mode: "MessageRate", value: 100, vhost: "vhost"},
	{name: "http regex max", meta: m{"protocol": "http", "queueName": "^.*incoming$", "mode": "QueueLength", "value": "20", "useRegex": "true", "operation": "max"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, protocol: "http", mode: "QueueLength", value: 20, vhost: "vhost"},
	{name: "workload identity is unsupported", meta: m{"protocol": "http", "vHostName": "/", "queueName": "testqueue", "mode": "QueueLength", "value": "20"},
		auth: m{"host": "http://localhost:15672/", "workloadIdentityResource": "client-id"}, unsupported: "workloadIdentityResource"},
	{name: "deliver get rate", meta: m{"protocol": "http", "queueName": "testqueue", "mode": "DeliverGetRate", "value": "30"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, protocol: "http", mode: "DeliverGetRate", value: 30, vhost: "vhost"},
	{name: "published to delivered ratio is unsupported", meta: m{"protocol": "http", "queueName": "testqueue", "mode": "PublishedToDeliveredRatio", "value": "1.1"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, unsupported: "mode"},
	{name: "expected consumption time is unsupported", meta: m{"protocol": "http", "queueName": "testqueue", "mode": "ExpectedQueueConsumptionTime", "value": "20"},
		auth: m{"host": "http://guest:password@localhost:15672/path/vhost"}, unsupported: "mode"},
	{name: "oauth2 is unsupported", meta: m{"protocol": "http", "queueName": "q"},
		auth: m{"host": "http://localhost:15672/", "oauthTokenURI": "https://idp/token", "clientID": "c", "clientSecret": "s"}, unsupported: "clientID"},
}

func TestKEDADocExamples(t *testing.T) {
	for _, tc := range kedaDocExamples {
		t.Run(tc.name, func(t *testing.T) {
			spec := trigger.Spec{Type: Type, Name: "t", Metadata: tc.meta, AuthParams: tc.auth, Env: tc.env}
			var c Config
			_, err := decode.Decode(spec, &c)
			if tc.unsupported != "" {
				if err == nil || !strings.Contains(err.Error(), `key "`+tc.unsupported+`"`) || !strings.Contains(err.Error(), "not supported by surge") {
					t.Fatalf("err = %v, want an unsupported error for %q", err, tc.unsupported)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vhost := c.httpVhost
			if c.protocol == ProtocolAMQP {
				vhost = strings.TrimPrefix(c.amqpURL[strings.LastIndex(c.amqpURL, "/"):], "/")
				if vhost == "" || vhost == "%2F" {
					vhost = "/"
				}
			}
			if c.protocol != tc.protocol || c.Mode != tc.mode || c.Value != tc.value || vhost != tc.vhost {
				t.Errorf("got protocol %s mode %s value %v vhost %q; want %s %s %v %q", c.protocol, c.Mode, c.Value, vhost, tc.protocol, tc.mode, tc.value, tc.vhost)
			}
		})
	}
}

func TestConfigRules(t *testing.T) {
	base := func(extra m) m {
		out := m{"host": "amqp://u:secretpw@h:5672/v", "queueName": "q"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name    string
		meta    m
		auth    m
		check   func(*testing.T, *Config)
		wantErr string
	}{
		{name: "nothing given: QueueLength 20", meta: base(nil), check: func(t *testing.T, c *Config) {
			if c.Mode != ModeQueueLength || c.Value != 20 || c.Protocol != "auto" || c.protocol != "amqp" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "deprecated queueLength maps", meta: base(m{"queueLength": "7"}), check: func(t *testing.T, c *Config) {
			if c.Mode != ModeQueueLength || c.Value != 7 {
				t.Errorf("%+v", c)
			}
		}},
		{name: "queueLength with mode", meta: base(m{"queueLength": "7", "mode": "QueueLength"}), wantErr: `key "queueLength": is deprecated and cannot be combined`},
		{name: "mode without value", meta: base(m{"mode": "QueueLength"}), wantErr: `key "value": is required when mode is given`},
		{name: "value without mode", meta: base(m{"value": "3"}), wantErr: `key "mode": is required when value is given`},
		{name: "regex needs http", meta: base(m{"useRegex": "true"}), wantErr: `key "useRegex": value "true": needs the http protocol`},
		{name: "exclude unacked needs http", meta: base(m{"excludeUnacknowledged": "true"}), wantErr: `key "excludeUnacknowledged"`},
		{name: "rate needs http", meta: base(m{"mode": "MessageRate", "value": "3"}), wantErr: `key "mode": value "MessageRate": needs the http protocol`},
		{name: "protocol must match scheme", meta: base(m{"protocol": "http"}), wantErr: `key "protocol": value "http": does not match the host's scheme amqp`},
		{name: "no scheme", meta: m{"host": "u:pw@h:5672", "queueName": "q"}, wantErr: `has no amqp://`},
		{name: "username without password", meta: base(nil), auth: m{"username": "u"}, wantErr: `key "username": username and password must be given together`},
		{name: "bad pem", meta: base(nil), auth: m{"tls": "enable", "ca": "not pem"}, wantErr: `key "ca": holds no PEM certificate`},
		{name: "cert without key", meta: base(nil), auth: m{"tls": "enable", "cert": testCert}, wantErr: `key "cert": cert and key must be given together`},
		{name: "auth credentials override url", meta: base(nil), auth: m{"username": "x", "password": "y"}, check: func(t *testing.T, c *Config) {
			if !strings.HasPrefix(c.amqpURL, "amqp://x:y@h/") {
				t.Errorf("amqpURL = %s", decode.RedactURL(c.amqpURL))
			}
		}},
		{name: "http path prefix and vhost", meta: m{"host": "http://u:p@h:15672/prefix/sub/my%2Fvhost", "queueName": "q one"}, check: func(t *testing.T, c *Config) {
			if c.httpBase != "http://h:15672/prefix/sub" || c.httpVhost != "my/vhost" || c.Username != "u" || c.Password != "p" {
				t.Errorf("base %s vhost %s", c.httpBase, c.httpVhost)
			}
			if got := c.queueURL(); got != "http://h:15672/prefix/sub/api/queues/my%2Fvhost/q%20one?columns="+columns {
				t.Errorf("queueURL = %s", got)
			}
		}},
		{name: "http root vhost", meta: m{"host": "http://h:15672", "queueName": "q"}, check: func(t *testing.T, c *Config) {
			if c.httpBase != "http://h:15672" || c.httpVhost != "/" || !strings.Contains(c.queueURL(), "/api/queues/%2F/q") {
				t.Errorf("base %s vhost %s url %s", c.httpBase, c.httpVhost, c.queueURL())
			}
		}},
		{name: "timeout", meta: base(m{"timeout": "250"}), check: func(t *testing.T, c *Config) {
			if c.Timeout != 250*time.Millisecond {
				t.Errorf("timeout %v", c.Timeout)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			_, err := decode.Decode(trigger.Spec{Type: Type, Name: "t", Metadata: tc.meta, AuthParams: tc.auth}, &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "secretpw") {
					t.Errorf("error prints the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, &c)
		})
	}
}

func TestBuildTrigger(t *testing.T) {
	p := NewPool(logr.Discard())
	defer p.Close()
	tr, err := p.Build(context.Background(), trigger.Spec{Type: Type, Metadata: m{
		"host": "amqp://h/", "queueName": "Orders", "queueLength": "5", "activationValue": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Rule.Target != 5 || tr.Rule.Activation != 2 || !strings.HasPrefix(tr.MetricHint, "rabbitmq-orders-") || len(tr.Warnings) != 1 {
		t.Errorf("trigger %+v", tr)
	}
	if st := p.Stats(); st.Brokers != 1 || st.AMQPConnections != 0 {
		t.Errorf("stats before Measure: %+v (Build must not connect)", st)
	}
	_ = tr.Source.Close()
	if st := p.Stats(); st.Brokers != 0 {
		t.Errorf("stats after Close: %+v", st)
	}
}

func FuzzConfig(f *testing.F) {
	for _, ex := range kedaDocExamples {
		f.Add(ex.meta["host"]+"\x00"+ex.auth["host"], ex.meta["mode"], ex.meta["value"], ex.meta["queueName"], ex.meta["protocol"])
	}
	f.Fuzz(func(t *testing.T, host, mode, value, queue, protocol string) {
		spec := trigger.Spec{Type: Type, Metadata: m{"host": host, "mode": mode, "value": value, "queueName": queue, "protocol": protocol}}
		var c Config
		if _, err := decode.Decode(spec, &c); err == nil {
			if c.protocol != ProtocolAMQP && c.protocol != ProtocolHTTP {
				t.Fatalf("accepted without a protocol: %+v", c)
			}
			if c.Value <= 0 {
				t.Fatalf("accepted value %v", c.Value)
			}
			_ = c.queueURL()
		}
	})
}
