// Package rabbitmq is the "rabbitmq" trigger: the depth or message rate of a RabbitMQ
// queue, with KEDA 2.21's metadata keys and defaults.
//
// # amqp counts ready messages only; http counts ready + unacknowledged
//
// Over AMQP the trigger asks the broker with a passive queue declare, whose answer
// holds the number of messages READY for delivery. Messages a consumer has received
// but not yet acknowledged (its prefetch, its work in progress) are NOT counted. A
// deployment whose consumers prefetch much therefore looks almost idle to an amqp
// trigger while it is busy, and the HPA may scale it down mid-work.
//
// Over HTTP the trigger reads the management API, whose "messages" counts ready +
// unacknowledged: the real backlog (excludeUnacknowledged: "true" counts ready only).
// But the management API refreshes its numbers once per statistics interval
// (collect_statistics_interval, 5 s by default): a burst is seen up to one interval
// late, where the passive declare sees it at once (measured: amqp activated 0.07–0.91
// s after a burst at a 1 s poll; http 1.9–2.8 s with a 1 s statistics interval).
//
// # protocol: auto
//
// The default, "auto", picks the protocol from the host's scheme exactly as KEDA does
// (amqp:// and amqps:// → amqp; http:// and https:// → http), because a host names one
// endpoint and the other protocol's port is unknown. Both answers are correct for
// what they count; which one scales correctly depends on the consumers:
//   - consumers with prefetch > 1 or long work per message: use http (the count
//     includes work in flight, so the HPA holds replicas until the work is done);
//   - fast activation from zero, prefetch 1: amqp (no statistics lag).
//
// Modes QueueLength (the default, value 20), MessageRate and DeliverGetRate are
// supported; rates need http. PublishedToDeliveredRatio and
// ExpectedQueueConsumptionTime are rejected as unsupported: KEDA computes their
// activity with rules that are not "value > activationValue", which surge's central
// activation cannot reproduce from one number.
//
// # Connections
//
// All triggers on one broker share ONE AMQP connection (keyed by URL including vhost
// and credentials, and TLS settings; the key is never printed), reference-counted by
// a Pool and closed when the last trigger closes. Each measurement takes a channel
// from a small pool; a passive declare that fails (e.g. 404: no such queue) closes
// only its own channel, never the connection or another trigger's channel. A lost
// connection is redialled on the next Measure, with exponential backoff (100 ms to
// 5 s) during which Measure fails fast. Measure returns at its deadline whatever the
// broker does; an RPC the broker leaves unanswered for 5 s closes the connection (the
// broker is treated as gone), which ends every call waiting on it, so no goroutine
// outlives a dead broker by more than that. At most 64 declares are in flight per
// connection.
//
// HTTP triggers on one management endpoint share one http.Transport (at most 2
// connections, kept alive).
package rabbitmq
