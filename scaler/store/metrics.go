package store

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Metrics are the store's Prometheus series, named like KEDA's where they mean the
// same (keda_scaler_metrics_value → surge_scaler_metrics_value, ...). Per-trigger
// series carry namespace, scaledObject, trigger (its identity) and metric (the
// external metric name); they are deleted when the trigger is removed. Measurement
// latency is a histogram by trigger type only (KEDA's per-trigger latency gauge is
// left out: at 5,000 triggers it costs memory and says less than the histogram).
type Metrics struct {
	value    *prometheus.GaugeVec
	errors   *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// series are one trigger's children of the vectors, resolved once.
type series struct {
	value  prometheus.Gauge
	errors prometheus.Counter
	ok     prometheus.Observer
	failed prometheus.Observer
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
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "surge_scaler_measure_duration_seconds",
			Help:    "Duration of trigger measurements by trigger type.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"type", "result"}),
	}
	reg.MustRegister(m.value, m.errors, m.duration)
	return m
}

func (m *Metrics) labels(owner Owner, meta trigger.Metric) []string {
	return []string{owner.Namespace, owner.Name, meta.Ident, meta.Key.Name}
}

// series resolves one trigger's series; nil when m is nil.
func (m *Metrics) series(owner Owner, meta trigger.Metric) *series {
	if m == nil {
		return nil
	}
	l := m.labels(owner, meta)
	return &series{value: m.value.WithLabelValues(l...), errors: m.errors.WithLabelValues(l...),
		ok: m.duration.WithLabelValues(meta.Type, "ok"), failed: m.duration.WithLabelValues(meta.Type, "error")}
}

func (s *series) observe(v float64, err error, took time.Duration) {
	if s == nil {
		return
	}
	if err != nil {
		s.errors.Inc()
		s.failed.Observe(took.Seconds())
		return
	}
	s.value.Set(v)
	s.ok.Observe(took.Seconds())
}

func (m *Metrics) forget(owner Owner, meta trigger.Metric) {
	if m == nil {
		return
	}
	l := m.labels(owner, meta)
	m.value.DeleteLabelValues(l...)
	m.errors.DeleteLabelValues(l...)
}
