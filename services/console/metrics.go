package console

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	liveClients prometheus.Gauge
	redriven    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_console_requests_total",
			Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "waybill_console_request_duration_seconds",
			Help:    "HTTP request duration by route pattern (live-event streams last as long as the client stays).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
		}, []string{"route"}),
		liveClients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_console_live_clients",
			Help: "Open live-event (SSE) streams.",
		}),
		redriven: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_console_redriven_total",
			Help: "Dead letters redriven through the console.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.liveClients, m.redriven)
	return m
}
