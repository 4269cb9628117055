package kafka

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

type m = map[string]string

func TestConfigTags(t *testing.T) {
	if err := decode.Check(&Config{}); err != nil {
		t.Fatal(err)
	}
}

// kedaDocExamples restate the trigger blocks of KEDA 2.21's "Apache Kafka" and
// "Apache Kafka (Experimental)" pages: each decodes or is refused as unsupported.
var kedaDocExamples = []struct {
	name, typ   string
	meta, auth  m
	threshold   int64
	unsupported string
}{
	{name: "kafka trigger specification", typ: "kafka", meta: m{"bootstrapServers": "kafka.svc:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"lagThreshold": "5", "activationLagThreshold": "3", "offsetResetPolicy": "latest", "allowIdleConsumers": "false",
		"scaleToZeroOnInvalidOffset": "false", "excludePersistentLag": "false", "limitToPartitionsWithLag": "false",
		"ensureEvenDistributionOfPartitions": "false", "version": "1.0.0", "fullMetadata": "true", "partitionLimitation": "1,2,10-20,31",
		"sasl": "plaintext", "tls": "enable", "unsafeSsl": "false"}, auth: m{"username": "admin", "password": "admin"}, threshold: 5},
	{name: "apache-kafka trigger specification", typ: "apache-kafka", meta: m{"bootstrapServers": "kafka.svc:9092", "consumerGroup": "my-group",
		"topic": "test-topic", "lagThreshold": "5", "activationLagThreshold": "3", "offsetResetPolicy": "latest", "allowIdleConsumers": "false",
		"scaleToZeroOnInvalidOffset": "false", "excludePersistentLag": "false", "limitToPartitionsWithLag": "false",
		"ensureEvenDistributionOfPartitions": "false", "partitionLimitation": "1,2,10-20,31", "tls": "enable", "sasl": "plaintext"},
		auth: m{"username": "admin", "password": "admin"}, threshold: 5},
	{name: "no sasl or tls", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"lagThreshold": "50", "offsetResetPolicy": "latest"}, threshold: 50},
	{name: "sasl and tls in TriggerAuthentication", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group",
		"topic": "test-topic", "lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"sasl": "plaintext", "username": "admin", "password": "admin", "tls": "enable", "ca": testCA, "cert": testCert, "key": testKey}, threshold: 50},
	{name: "sasl and tls in metadata", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"tls": "enable", "sasl": "plaintext", "lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"username": "admin", "password": "admin", "ca": testCA, "cert": testCert, "key": testKey}, threshold: 50},
	{name: "oauthbearer in TriggerAuthentication", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group",
		"topic": "test-topic", "lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"sasl": "oauthbearer", "username": "admin", "password": "admin", "oauthTokenEndpointUri": "https://tokenendpoint.com/token",
			"scopes": "default", "oauthExtensions": "extension_logicalCluster=1,extension_identityPoolId=2", "tls": "enable"}, unsupported: "oauthTokenEndpointUri"},
	{name: "oauthbearer in metadata", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"tls": "enable", "sasl": "oauthbearer", "lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"username": "admin", "password": "admin"}, unsupported: "sasl"},
	{name: "gssapi", typ: "kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"sasl": "gssapi", "tls": "disable", "username": "admin", "realm": "EXAMPLE.COM", "keytab": "k", "kerberosConfig": "c"}, unsupported: "keytab"},
	{name: "aws msk iam", typ: "apache-kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"awsRegion": "us-east-1", "lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"sasl": "oauthbearer", "saslTokenProvider": "aws_msk_iam", "tls": "enable", "awsAccessKeyID": "id", "awsSecretAccessKey": "s"}, unsupported: "awsRegion"},
	{name: "apache-kafka aws msk iam", typ: "apache-kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group", "topic": "test-topic",
		"lagThreshold": "50", "offsetResetPolicy": "latest"},
		auth: m{"sasl": "aws_msk_iam", "tls": "enable", "awsAccessKeyID": "id", "awsSecretAccessKey": "s"}, unsupported: "sasl"},
	{name: "apache-kafka no sasl or tls", typ: "apache-kafka", meta: m{"bootstrapServers": "localhost:9092", "consumerGroup": "my-group",
		"topic": "test-topic", "lagThreshold": "50", "offsetResetPolicy": "latest"}, threshold: 50},
}

func TestKEDADocExamples(t *testing.T) {
	for _, tc := range kedaDocExamples {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			_, err := decode.Decode(trigger.Spec{Type: tc.typ, Name: "t", Metadata: tc.meta, AuthParams: tc.auth}, &c)
			if tc.unsupported != "" {
				if err == nil || !strings.Contains(err.Error(), `key "`+tc.unsupported+`"`) || !strings.Contains(err.Error(), "not supported by surge") {
					t.Fatalf("err = %v, want unsupported %q", err, tc.unsupported)
				}
				if strings.Contains(err.Error(), "admin") {
					t.Errorf("error prints a credential: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.LagThreshold != tc.threshold {
				t.Errorf("lagThreshold %d, want %d", c.LagThreshold, tc.threshold)
			}
		})
	}
}

func TestConfigRules(t *testing.T) {
	base := func(extra m) m {
		out := m{"bootstrapServers": "h:9092", "consumerGroup": "g", "topic": "t"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name    string
		meta    m
		auth    m
		env     m
		check   func(*testing.T, *Config)
		wantErr string
	}{
		{name: "defaults", meta: base(nil), check: func(t *testing.T, c *Config) {
			if c.LagThreshold != 10 || c.ActivationLagThreshold != 0 || c.OffsetResetPolicy != "latest" || c.SASL != "none" || !c.FullMetadata || c.partitions != nil {
				t.Errorf("%+v", c)
			}
		}},
		{name: "partition limitation", meta: base(m{"partitionLimitation": "1, 3-5,3,0"}), check: func(t *testing.T, c *Config) {
			if !slices.Equal(c.partitions, []int{0, 1, 3, 4, 5}) || !c.active(4) || c.active(2) {
				t.Errorf("partitions %v", c.partitions)
			}
		}},
		{name: "partition limitation ignored without topic", meta: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "partitionLimitation": "1"}, check: func(t *testing.T, c *Config) {
			if c.partitions != nil {
				t.Errorf("partitions %v", c.partitions)
			}
		}},
		{name: "several topics and servers from env", meta: m{"bootstrapServersFromEnv": "B", "consumerGroupFromEnv": "G", "topic": "a,b"},
			env: m{"B": "h1:9092, h2:9092", "G": "grp"}, check: func(t *testing.T, c *Config) {
				if !slices.Equal(c.BootstrapServers, []string{"h1:9092", "h2:9092"}) || c.ConsumerGroup != "grp" || !slices.Equal(c.Topic, []string{"a", "b"}) {
					t.Errorf("%+v", c)
				}
			}},
		{name: "bad partition range", meta: base(m{"partitionLimitation": "5-2"}), wantErr: `key "partitionLimitation": value "5-2": has a bad element "5-2"`},
		{name: "idle and limit", meta: base(m{"allowIdleConsumers": "true", "limitToPartitionsWithLag": "true"}), wantErr: "cannot be combined with allowIdleConsumers"},
		{name: "limit without topic", meta: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "limitToPartitionsWithLag": "true"}, wantErr: `key "limitToPartitionsWithLag": value "true": needs topic`},
		{name: "even without topic", meta: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "ensureEvenDistributionOfPartitions": "true"}, wantErr: "needs topic"},
		{name: "limit and even", meta: base(m{"limitToPartitionsWithLag": "true", "ensureEvenDistributionOfPartitions": "true"}), wantErr: "cannot be combined with limitToPartitionsWithLag"},
		{name: "no full metadata without topic", meta: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "fullMetadata": "false"}, wantErr: `key "fullMetadata"`},
		{name: "zero threshold", meta: base(m{"lagThreshold": "0"}), wantErr: `key "lagThreshold": value "0": out of range; allowed: a number > 0`},
		{name: "negative activation", meta: base(m{"activationLagThreshold": "-1"}), wantErr: `key "activationLagThreshold"`},
		{name: "bad policy", meta: base(m{"offsetResetPolicy": "newest"}), wantErr: "allowed: latest, earliest"},
		{name: "bad version", meta: base(m{"version": "one"}), wantErr: `key "version": value "one"`},
		{name: "server without port", meta: base(m{"bootstrapServers": "kafka"}), wantErr: `key "bootstrapServers": value "kafka": has no port`},
		{name: "sasl without password", meta: base(m{"sasl": "scram_sha512"}), auth: m{"username": "u"}, wantErr: `key "sasl": value "scram_sha512": needs username and password`},
		{name: "password in metadata", meta: base(m{"password": "hunter2"}), wantErr: `key "password": value "<redacted>": may not be set in metadata`},
		{name: "missing group", meta: m{"bootstrapServers": "h:9092"}, wantErr: `key "consumerGroup": is required`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			_, err := decode.Decode(trigger.Spec{Type: "kafka", Name: "t", Metadata: tc.meta, AuthParams: tc.auth, Env: tc.env}, &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
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

func TestBuild(t *testing.T) {
	p := NewPool(logr.Discard())
	defer p.Close()
	ctx := context.Background()
	a, err := p.Build(ctx, trigger.Spec{Type: "kafka", Metadata: m{"bootstrapServers": "h:9092", "consumerGroup": "g", "topic": "orders", "lagThreshold": "7", "activationLagThreshold": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.Build(ctx, trigger.Spec{Type: "apache-kafka", Metadata: m{"bootstrapServers": "h:9092", "consumerGroup": "My_Group"}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Rule.Target != 7 || a.Rule.Activation != 2 || a.MetricHint != "kafka-orders" || !strings.HasPrefix(b.MetricHint, "kafka-my-group-topics-") {
		t.Errorf("a %+v b %+v", a, b)
	}
	if p.Transports() != 1 {
		t.Errorf("two triggers on one cluster use %d transports", p.Transports())
	}
	_ = a.Source.Close()
	_ = b.Source.Close()
	_ = b.Source.Close()
	if p.Transports() != 0 {
		t.Errorf("after Close: %d transports", p.Transports())
	}
}

func FuzzConfig(f *testing.F) {
	for _, ex := range kedaDocExamples {
		f.Add(ex.meta["bootstrapServers"], ex.meta["topic"], ex.meta["lagThreshold"], ex.meta["partitionLimitation"], ex.meta["offsetResetPolicy"])
	}
	f.Add("h:1", "t", "1", "0-99999999999", "earliest")
	f.Fuzz(func(t *testing.T, servers, topic, threshold, limit, policy string) {
		var c Config
		_, err := decode.Decode(trigger.Spec{Type: "kafka", Metadata: m{"bootstrapServers": servers, "consumerGroup": "g",
			"topic": topic, "lagThreshold": threshold, "partitionLimitation": limit, "offsetResetPolicy": policy}}, &c)
		if err == nil && (c.LagThreshold <= 0 || len(c.BootstrapServers) == 0 || len(c.partitions) > 100001) {
			t.Fatalf("accepted %+v", c)
		}
	})
}
