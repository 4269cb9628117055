// Subpackages of scaler:
//
//   - scaler/decode: the one generic metadata decoder every trigger uses.
//   - scaler/rabbitmq, scaler/kafka, scaler/prometheus, scaler/fake: trigger sources.
//   - scaler/triggers: the registry that lists every trigger type once.
//   - scaler/api/v1alpha1: ScaledObject, TriggerAuthentication and ClusterTriggerAuthentication.
//   - scaler/activation, scaler/hpa, scaler/poller, scaler/store, scaler/controller:
//     the pure decisions and the loops of surge-scaler.
package scaler
