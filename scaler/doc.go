// Package scaler is the home of surge-scaler's packages; it has no code of its own.
//
//   - scaler/trigger: the trigger model (Spec, Source, Rule, Fallback, Metric, Sample,
//     Reading) and the one implementation of its rules; every other package builds on it.
//   - scaler/decode: the one generic metadata decoder every trigger uses.
//   - scaler/rabbitmq, scaler/kafka, scaler/prometheus, scaler/fake: trigger sources,
//     one package per trigger type; scaler/refcount shares their broker connections.
//   - scaler/triggers: the registry that lists every trigger type once.
//   - scaler/api/v1alpha1: ScaledObject, TriggerAuthentication and ClusterTriggerAuthentication.
//   - scaler/activation, scaler/hpa: the pure decisions (0↔N, the owned HPA).
//   - scaler/poller, scaler/store, scaler/controller: the loops of surge-scaler.
package scaler
