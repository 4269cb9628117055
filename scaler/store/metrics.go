package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the store's Prometheus series, named like KEDA's where they mean the
// same (keda_scaler_metrics_value → surge_scaler_metrics_value, ...). Per-trigger
// series carry namespace, scaledObject, trigger (its identity) and metric (the
// external metric name); they are deleted when the trigger is removed. The latency
// histogram is by trigger type only, to keep its cardinality bounded.
type Metrics struct {
	value    *prometheus.GaugeVec
	errors   *prometheus.CounterVec
	latency  *prometheus.GaugeVec
	duration *prometheus.HistogramVec
}

var triggerLabels = []string{"namespace", "scaledObject", "trigger", "metric"}

// NewMetrics creates the series and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		value: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "surge_scaler_metrics_value",
			Help: "The latest value each trigger measured (the external metric's raw value).",
		}, triggerLabels),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_scaler_errors_total",
			Help: "Failed measurements per trigger.",
		}, triggerLabels),
		latency: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "surge_scaler_metrics_latency_seconds",
			Help: "How long each trigger's latest measurement took.",
		}, triggerLabels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "surge_scaler_measure_duration_seconds",
			Help:    "Duration of trigger measurements by trigger type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type", "result"}),
	}
	reg.MustRegister(m.value, m.errors, m.latency, m.duration)
	return m
}

func (m *Metrics) labels(owner Owner, meta Metric) prometheus.Labels {
	return prometheus.Labels{"namespace": owner.Namespace, "scaledObject": owner.Name,
		"trigger": meta.TriggerName, "metric": meta.Key.Name}
}

func (m *Metrics) observe(owner Owner, meta Metric, v float64, err error, took time.Duration) {
	if m == nil {
		return
	}
	l := m.labels(owner, meta)
	m.latency.With(l).Set(took.Seconds())
	result := "ok"
	if err != nil {
		result = "error"
		m.errors.With(l).Inc()
	} else {
		m.value.With(l).Set(v)
	}
	m.duration.WithLabelValues(meta.TriggerType, result).Observe(took.Seconds())
}

func (m *Metrics) forget(owner Owner, meta Metric) {
	if m == nil {
		return
	}
	l := m.labels(owner, meta)
	m.value.Delete(l)
	m.errors.Delete(l)
	m.latency.Delete(l)
}
