package ingress

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests      *prometheus.CounterVec
	publish       prometheus.Observer
	duplicates    *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	batched       prometheus.Counter
	batchFallback prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_ingress_requests_total", Help: "Webhook requests by source and HTTP status code.",
		}, []string{"source", "code"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_ingress_duplicates_total", Help: "Webhooks JetStream reported as duplicates of a stored event.",
		}, []string{"source"}),
		deadLettered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_ingress_deadlettered_total", Help: "Webhooks rejected with 400 and stored on DEADLETTER, by reason.",
		}, []string{"source", "reason"}),
		batched: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_ingress_batched_total", Help: "Webhooks stored on RAW in atomic batches (the rest one by one).",
		}),
		batchFallback: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_ingress_batch_fallbacks_total", Help: "Webhooks of batches RAW refused (a duplicate id in it, or a failure), published again one by one.",
		}),
	}
	publish := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "waybill_ingress_publish_seconds",
		Help:    "Time from publish to JetStream ack (or failure).",
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	})
	m.publish = publish
	reg.MustRegister(m.requests, m.duplicates, m.deadLettered, m.batched, m.batchFallback, publish)
	return m
}

// sourceMetrics holds one source's counters, resolved once so the request
// path does no label lookups.
type sourceMetrics struct {
	codes      map[int]prometheus.Counter
	all        *prometheus.CounterVec
	name       string
	duplicates prometheus.Counter
}

func (m *metrics) forSource(name string) *sourceMetrics {
	s := &sourceMetrics{codes: map[int]prometheus.Counter{}, all: m.requests, name: name,
		duplicates: m.duplicates.WithLabelValues(name)}
	for _, code := range []int{200, 400, 401, 404, 405, 413, 503} {
		s.codes[code] = m.requests.WithLabelValues(name, strconv.Itoa(code))
	}
	return s
}

func (s *sourceMetrics) request(code int) {
	if c, ok := s.codes[code]; ok {
		c.Inc()
		return
	}
	s.all.WithLabelValues(s.name, strconv.Itoa(code)).Inc()
}
