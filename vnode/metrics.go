package vnode

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/surge-autoscaler/surge/providers"
)

// metrics are surge-vnode's Prometheus metrics.
type metrics struct {
	createLatency prometheus.Histogram
	startLatency  prometheus.Histogram
	listLatency   prometheus.Histogram
	backendErrors *prometheus.CounterVec
	swept         prometheus.Counter
	instances     prometheus.Gauge
	pods          *prometheus.Desc
	handler       *Handler
}

func newMetrics(h *Handler, reg prometheus.Registerer) *metrics {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	m := &metrics{
		handler: h,
		createLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "surge_vnode_backend_create_seconds", Buckets: buckets,
			Help: "Duration of Backend.Create calls, successful or not.",
		}),
		startLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "surge_vnode_pod_start_seconds", Buckets: buckets,
			Help: "Time from a pod's scheduling to the first Running status surge-vnode reports for it.",
		}),
		listLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "surge_vnode_backend_list_seconds", Buckets: buckets,
			Help: "Duration of Backend.List calls made by the status tracker.",
		}),
		backendErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "surge_vnode_backend_errors_total",
			Help: "Backend calls that failed, by operation and error kind.",
		}, []string{"op", "kind"}),
		swept: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "surge_vnode_swept_instances_total",
			Help: "Instances deleted because no pod on this node owns them.",
		}),
		instances: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "surge_vnode_backend_instances",
			Help: "Instances the backend reported in the tracker's last List, whether or not a pod owns them.",
		}),
		pods: prometheus.NewDesc("surge_vnode_pods", "Pods on the virtual node, by phase.", []string{"phase"}, nil),
	}
	if reg != nil {
		reg.MustRegister(m.createLatency, m.startLatency, m.listLatency, m.backendErrors, m.swept, m.instances, m)
	}
	return m
}

// Describe implements prometheus.Collector for the pods-by-phase gauge.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.pods }

// Collect implements prometheus.Collector for the pods-by-phase gauge.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for phase, n := range m.handler.phaseCounts() {
		ch <- prometheus.MustNewConstMetric(m.pods, prometheus.GaugeValue, float64(n), phase)
	}
}

func (m *metrics) backendError(op string, err error) {
	kind := "Other"
	for _, k := range []providers.Kind{providers.KindNotFound, providers.KindQuotaExceeded, providers.KindUnsupported, providers.KindTransient} {
		if isKind(err, k) {
			kind = string(k)
		}
	}
	m.backendErrors.WithLabelValues(op, kind).Inc()
}

func isKind(err error, k providers.Kind) bool {
	switch k {
	case providers.KindNotFound:
		return providers.IsNotFound(err)
	case providers.KindQuotaExceeded:
		return providers.IsQuotaExceeded(err)
	case providers.KindUnsupported:
		return providers.IsUnsupported(err)
	case providers.KindTransient:
		return providers.IsTransient(err)
	}
	return false
}
