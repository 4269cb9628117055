// Package trigger is surge-scaler's trigger model, the one set of types a trigger
// travels as from its spec to the number the HPA reads, and the one place its rules
// are written:
//
//   - [Spec] is one spec.triggers entry with everything resolved that needs the
//     Kubernetes API (authentication, the target's environment); a [Builder] (the
//     registry in scaler/triggers, one package per type behind it) turns it into a
//     [Built]: a [Source] that measures one number, and the trigger's [Rule].
//   - [Metric] is the trigger as registered with the sample store: its stable [Key],
//     its identity, its Rule and how its samples are served (labels, polling
//     interval, [Fallback], useCachedMetrics). The controller builds it, the store
//     keeps it, the HPA builder and the metrics API read it:
//     [github.com/surge-autoscaler/surge/scaler/hpa.Build].
//   - [Sample] is one measurement's outcome; a [Reading] is a Metric with its latest
//     Sample, what activation and the metrics API decide from:
//     [github.com/surge-autoscaler/surge/scaler/activation.Decide] (0↔N) and
//     [github.com/surge-autoscaler/surge/metricsapi.Judge] (the value the HPA reads).
//
// The rules: a trigger is active when its latest measurement succeeded and its value
// is strictly greater than the activation threshold ([Rule.Active]); fallback applies
// once a failing trigger has failed FailureThreshold consecutive times
// ([Fallback.Applies]) and holds the count [Fallback.Hold] gives; a burst start asks
// for ceil(value / target) replicas of an active AverageValue trigger
// ([Rule.BurstReplicas]).
//
// The package imports nothing of surge-scaler's but the API types, so every part of
// surge-scaler can import it.
package trigger
