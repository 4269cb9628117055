package kafka

import (
	"crypto/tls"
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/surge-autoscaler/surge/scaler/decode"
)

// Types are the trigger types this package answers to: KEDA's sarama-based "kafka"
// and its kafka-go based "apache-kafka" share one implementation and one key set.
var Types = []string{"kafka", "apache-kafka"}

// Config is the kafka trigger's metadata, with KEDA 2.21's keys and defaults.
type Config struct {
	BootstrapServers       []string `surge:"bootstrapServers,required,from=meta|env"`
	ConsumerGroup          string   `surge:"consumerGroup,required,from=meta|env"`
	Topic                  []string `surge:"topic,from=meta|env"`
	LagThreshold           int64    `surge:"lagThreshold,default=10,gt=0"`
	ActivationLagThreshold int64    `surge:"activationLagThreshold,default=0,min=0"`
	OffsetResetPolicy      string   `surge:"offsetResetPolicy,default=latest,enum=latest|earliest"`

	AllowIdleConsumers                 bool   `surge:"allowIdleConsumers"`
	ScaleToZeroOnInvalidOffset         bool   `surge:"scaleToZeroOnInvalidOffset"`
	ExcludePersistentLag               bool   `surge:"excludePersistentLag"`
	LimitToPartitionsWithLag           bool   `surge:"limitToPartitionsWithLag"`
	EnsureEvenDistributionOfPartitions bool   `surge:"ensureEvenDistributionOfPartitions"`
	PartitionLimitation                string `surge:"partitionLimitation"`
	Version                            string `surge:"version"`
	FullMetadata                       bool   `surge:"fullMetadata,default=true"`
	MetricName                         string `surge:"metricName,deprecated=ignored: metric names are derived (KEDA removed the key in 2.12)"`

	TLS         string `surge:"tls,from=meta|auth,default=disable,enum=enable|disable"`
	UnsafeSsl   bool   `surge:"unsafeSsl"`
	CA          string `surge:"ca,from=auth,secret"`
	Cert        string `surge:"cert,from=auth,secret"`
	Key         string `surge:"key,from=auth,secret"`
	KeyPassword string `surge:"keyPassword,from=auth,secret"`
	SASL        string `surge:"sasl,from=meta|auth,default=none,enum=none|plaintext|scram_sha256|scram_sha512|oauthbearer|gssapi|aws_msk_iam"`
	Username    string `surge:"username,from=auth,secret"`
	Password    string `surge:"password,from=auth,secret"`

	SASLTokenProvider     string `surge:"saslTokenProvider,from=meta|auth,unsupported=SASL/OAUTHBEARER token providers (use plaintext or scram_sha256/scram_sha512)"`
	AWSRegion             string `surge:"awsRegion,unsupported=AWS MSK IAM (use plaintext or scram_sha256/scram_sha512)"`
	OAuthTokenEndpointURI string `surge:"oauthTokenEndpointUri,from=auth,unsupported=SASL/OAUTHBEARER (use plaintext or scram_sha256/scram_sha512)"`
	Scopes                string `surge:"scopes,from=auth,unsupported=SASL/OAUTHBEARER (use plaintext or scram_sha256/scram_sha512)"`
	OAuthExtensions       string `surge:"oauthExtensions,from=auth,unsupported=SASL/OAUTHBEARER (use plaintext or scram_sha256/scram_sha512)"`
	Keytab                string `surge:"keytab,from=auth,unsupported=SASL/GSSAPI (Kerberos)"`
	Realm                 string `surge:"realm,from=auth,unsupported=SASL/GSSAPI (Kerberos)"`
	KerberosConfig        string `surge:"kerberosConfig,from=auth,unsupported=SASL/GSSAPI (Kerberos)"`
	KerberosServiceName   string `surge:"kerberosServiceName,from=auth,unsupported=SASL/GSSAPI (Kerberos)"`
	KerberosDisableFAST   string `surge:"kerberosDisableFAST,from=auth,unsupported=SASL/GSSAPI (Kerberos)"`

	// Derived by Validate.
	partitions []int // nil: every partition
	tlsConfig  *tls.Config
}

var versionRE = regexp.MustCompile(`^\d+(\.\d+){1,3}$`)

// Validate applies KEDA's cross-key rules.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	noTopic := len(c.Topic) == 0
	if c.AllowIdleConsumers && c.LimitToPartitionsWithLag {
		add(decode.Invalid("limitToPartitionsWithLag", "true", "cannot be combined with allowIdleConsumers: true", "false"))
	}
	if noTopic && c.LimitToPartitionsWithLag {
		add(decode.Invalid("limitToPartitionsWithLag", "true", "needs topic", "false, or set topic"))
	}
	if c.LimitToPartitionsWithLag && c.EnsureEvenDistributionOfPartitions {
		add(decode.Invalid("ensureEvenDistributionOfPartitions", "true", "cannot be combined with limitToPartitionsWithLag: true", "false"))
	}
	if noTopic && c.EnsureEvenDistributionOfPartitions {
		add(decode.Invalid("ensureEvenDistributionOfPartitions", "true", "needs topic", "false, or set topic"))
	}
	if noTopic && !c.FullMetadata {
		add(decode.Invalid("fullMetadata", "false", "needs topic", "true, or set topic"))
	}
	if c.Version != "" && !versionRE.MatchString(c.Version) {
		add(decode.Invalid("version", c.Version, "is not a Kafka version", `a version such as "1.0.0" or "3.6.1" (kafka-go negotiates the protocol; the value is only checked)`))
	}
	if c.PartitionLimitation != "" && !noTopic { // KEDA ignores it without a topic
		p, err := parsePartitions(c.PartitionLimitation)
		add(err)
		c.partitions = p
	}
	for _, s := range c.BootstrapServers {
		if !strings.Contains(s, ":") {
			add(decode.Invalid("bootstrapServers", s, "has no port", "host:port[,host:port...]"))
		}
	}
	add(c.validateAuth())
	return errors.Join(errs...)
}

func (c *Config) validateAuth() error {
	switch c.SASL {
	case "plaintext", "scram_sha256", "scram_sha512":
		if c.Username == "" || c.Password == "" {
			return decode.Invalid("sasl", c.SASL, "needs username and password in the TriggerAuthentication", "username and password with sasl "+c.SASL)
		}
	case "oauthbearer":
		return decode.Unsupported("sasl", c.SASL, "SASL/OAUTHBEARER (use none, plaintext, scram_sha256 or scram_sha512)")
	case "gssapi":
		return decode.Unsupported("sasl", c.SASL, "SASL/GSSAPI (Kerberos) (use none, plaintext, scram_sha256 or scram_sha512)")
	case "aws_msk_iam":
		return decode.Unsupported("sasl", c.SASL, "AWS MSK IAM (use none, plaintext, scram_sha256 or scram_sha512)")
	}
	if c.TLS == "enable" {
		t, err := decode.TLSConfig(c.CA, c.Cert, c.Key, c.KeyPassword, c.UnsafeSsl)
		if err != nil {
			return err
		}
		c.tlsConfig = t
	}
	return nil
}

// parsePartitions reads KEDA's partitionLimitation: ids and ranges, "1,2,10-20,31".
func parsePartitions(s string) ([]int, error) {
	bad := func(part string) error {
		return decode.Invalid("partitionLimitation", s, "has a bad element "+strconv.Quote(part),
			`partition ids and inclusive ranges, e.g. "1,2,10-20,31"`)
	}
	var out []int
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil || a < 0 {
			return nil, bad(part)
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(strings.TrimSpace(hi)); err != nil || b < a || b-a > 100000 {
				return nil, bad(part)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MetricHint is "kafka-<topics>" or, without a topic, "kafka-<group>-topics" (KEDA's
// metric names), made DNS-label safe.
func (c *Config) MetricHint() string {
	if len(c.Topic) > 0 {
		return decode.Label("kafka", strings.Join(c.Topic, "-"))
	}
	return decode.Label("kafka", c.ConsumerGroup, "topics")
}

// active reports whether partition p is within partitionLimitation.
func (c *Config) active(p int) bool {
	if c.partitions == nil {
		return true
	}
	_, ok := slices.BinarySearch(c.partitions, p)
	return ok
}
