// Package kafka is the "kafka" and "apache-kafka" trigger: a consumer group's lag,
// with KEDA 2.21's metadata keys and lag rules (see Config.lag for each rule and the
// few places surge differs on purpose). The client is github.com/segmentio/kafka-go:
// each Measure sends Metadata, then OffsetFetch and ListOffsets concurrently, over a
// Transport shared by every trigger on the same cluster (one connection per broker).
//
// Lag is the sum over partitions of (high watermark − committed offset). Unless
// allowIdleConsumers is true the value is capped at partitions × lagThreshold, so an
// HPA with an AverageValue target of lagThreshold never scales past the partition
// count. Without topic, the topics are those the group has committed offsets for and
// those its live members subscribe to.
//
// Supported authentication: sasl none, plaintext, scram_sha256, scram_sha512, and
// TLS (ca, cert, key, keyPassword, unsafeSsl). SASL/OAUTHBEARER, SASL/GSSAPI and AWS
// MSK IAM are rejected with an error naming the key. "version" is checked and
// otherwise ignored (kafka-go negotiates protocol versions); "fullMetadata" is
// accepted (surge always asks metadata for the trigger's topics only).
package kafka
