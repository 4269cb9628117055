package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// metrics are the controller's Prometheus series (KEDA-like names where they mean
// the same: keda_scaler_active → surge_scaler_active, keda_scaled_object_paused →
// surge_scaled_object_paused).
type metrics struct {
	active       *prometheus.GaugeVec
	pausedVec    *prometheus.GaugeVec
	scaleWrites  *prometheus.CounterVec
	statusWrites prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "surge_scaler_active",
			Help: "1 when the trigger's latest value is above its activation threshold.",
		}, []string{"namespace", "scaledObject", "trigger", "metric"}),
		pausedVec: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "surge_scaled_object_paused",
			Help: "1 while the ScaledObject is paused by annotation.",
		}, []string{"namespace", "scaledObject"}),
		scaleWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_scaler_scale_writes_total",
			Help: "Writes to scale targets' /scale subresource.",
		}, []string{"result"}),
		statusWrites: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_scaler_status_writes_total",
			Help: "ScaledObject status writes (only made when the status changes).",
		}),
	}
	reg.MustRegister(m.active, m.pausedVec, m.scaleWrites, m.statusWrites)
	return m
}

func (m *metrics) setPaused(key types.NamespacedName, paused bool) {
	v := 0.0
	if paused {
		v = 1
	}
	m.pausedVec.WithLabelValues(key.Namespace, key.Name).Set(v)
}

func (m *metrics) scaleWrite(err error) {
	if err != nil {
		m.scaleWrites.WithLabelValues("error").Inc()
		return
	}
	m.scaleWrites.WithLabelValues("ok").Inc()
}

func (m *metrics) statusWrite() { m.statusWrites.Inc() }

func (m *metrics) forget(key types.NamespacedName) {
	m.active.DeletePartialMatch(prometheus.Labels{"namespace": key.Namespace, "scaledObject": key.Name})
	m.pausedVec.DeleteLabelValues(key.Namespace, key.Name)
}
