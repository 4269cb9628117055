// Package metricsapi serves surge-scaler's samples as the Kubernetes external metrics
// API (external.metrics.k8s.io/v1beta1) from surge-scaler's own process, built on
// sigs.k8s.io/custom-metrics-apiserver. It owns the API server (TLS serving, delegated
// authentication and authorisation against the kube-apiserver, the front-proxy client
// CA) and the translation of a [trigger.Reading] into an ExternalMetricValue: [Judge]
// decides the value the HPA reads. It reads only the [MetricSource] (the scaler's
// sample store) and never opens a broker connection.
//
// # Semantics of GET /apis/external.metrics.k8s.io/v1beta1/namespaces/NS/METRIC
//
//   - The metric is looked up by (NS, METRIC). A metric the source does not hold, or
//     one that lives in another namespace, is a 404 NotFound naming the metric; the
//     response never says whether the name exists elsewhere.
//   - The request's labelSelector (the HPA metric's selector) must match the sample's
//     Labels; if it does not, the answer is the same 404 (with the selector).
//   - A sample measured more than 3 × pollingInterval ago (stale: the poller is stuck
//     or was stopped), a sample whose latest measurement failed, or a sample never
//     measured, is a 503 ServiceUnavailable: the HPA reports FailedGetExternalMetric
//     and holds its replica count. The measurement's error text is NOT put in the
//     response or in this package's logs (it may carry a broker address); the poller
//     owns reporting it.
//   - Fallback: when the ScaledObject has spec.fallback and the latest measurement
//     failed for the failureThreshold-th consecutive time or more
//     ([trigger.Fallback.Applies], the rule activation uses too; KEDA compares with
//     >), the value served is fallback.replicas × target ([trigger.Fallback.Value]),
//     which makes an AverageValue HPA hold exactly fallback.replicas. Its timestamp is
//     now, since no measurement produced it.
//   - The value is a resource.Quantity with milli precision (the value × 1000 rounded
//     to an integer, e.g. 1.5 → "1500m"); values beyond ±MaxInt64/1000 are clamped,
//     NaN is a 503. The timestamp is the sample's measurement time, never now().
//
// Discovery (/apis/external.metrics.k8s.io/v1beta1) lists one placeholder resource,
// "externalmetrics", as KEDA's metrics server does, not every metric: the HPA never
// reads discovery, and a list that grows with the store is fetched by the aggregator,
// kubectl and every controller's discovery client. --metrics-api-list-metric-names
// lists every name instead.
//
// # useCachedMetrics
//
// KEDA's triggers[].useCachedMetrics defaults to false, which in KEDA means every HPA
// query makes the metrics adapter measure the source again. Surge keeps that meaning
// without giving the metrics API a broker connection of its own:
//
//   - useCachedMetrics: false (default) → MetricSource.Refresh. The store's owner of
//     the trigger measures now, single-flight per key: concurrent HPA queries and a
//     poll that is already running share one Measure, so the broker sees at most one
//     measurement in flight per trigger, and the poller and the HPA never disagree
//     (both read the same sample). The cost is one extra Measure per HPA sync (15 s
//     upstream, 1 s in our tests). If Refresh itself fails (deadline, store closed) and
//     the error is not ErrUnknownMetric, the cached sample is judged instead, so a slow
//     broker degrades to the cached value rather than to an error.
//   - useCachedMetrics: true → MetricSource.Latest: the sample the poller wrote at its
//     last pollingInterval, no broker traffic on the HPA's behalf.
//
// Either way the staleness and fallback rules above apply to the reading returned.
// A read-through measurement that fails sets the sample's error but does not count as
// a consecutive failure (only polls count, see scaler/store): fallback begins after
// failureThreshold failed polls, however often the HPA asks. KEDA's adapter counts
// its own queries too, so there fallback can come sooner under frequent HPA syncs.
//
// # Security
//
// The server uses the library's delegated authentication and authorisation (the
// --authentication-kubeconfig / --authorization-kubeconfig flags, defaulting to the
// in-cluster config or Options.Kubeconfig): client certificates against the cluster's
// client CA, requests proxied by the aggregator against the front-proxy (requestheader)
// CA and allowed names read from kube-system/extension-apiserver-authentication, and
// every request authorised by a SubjectAccessReview (allowed decisions cached for one
// minute rather than the library's 10 s, so that an HPA syncing every 15 s hits the
// cache; see DefaultAuthorizedCacheTTL). Its identity therefore needs the
// ClusterRole system:auth-delegator and, in kube-system, the Role
// extension-apiserver-authentication-reader.
package metricsapi
