package projector

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	events      *prometheus.CounterVec // by outcome
	batchEvents prometheus.Histogram
	writeTime   prometheus.Histogram
	latency     prometheus.Histogram
	retries     prometheus.Counter
	rejected    prometheus.Counter
	deadLetters *prometheus.CounterVec // by carrier
	postgresUp  prometheus.Gauge
	stalled     prometheus.Counter
	stallScans  *prometheus.CounterVec // by outcome
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_projector_events_total",
			Help: "SHIPMENTS messages settled, by outcome (inserted, duplicate, deadlettered)."}, []string{"outcome"}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_projector_batch_events",
			Help: "Events per committed batch.", Buckets: prometheus.ExponentialBuckets(1, 4, 7)}),
		writeTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_projector_write_seconds",
			Help:    "Duration of a batch's write, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_projector_latency_seconds",
			Help:    "From an event's storage on SHIPMENTS to the commit of its batch.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_projector_write_retries_total",
			Help: "Batch writes that failed for a reason that may pass (Postgres unavailable) and were retried."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_projector_rejected_total",
			Help: "Deliveries of messages that failed on their own (bad data), before and at dead-lettering."}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_projector_deadletters_total",
			Help: "Messages put on DEADLETTER after MaxDeliver attempts, by carrier."}, []string{"carrier"}),
		postgresUp: prometheus.NewGauge(prometheus.GaugeOpts{Name: "waybill_projector_postgres_up",
			Help: "1 when the last batch write reached Postgres, 0 while writes fail."}),
		stalled: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_projector_stalled_alerts_total",
			Help: "Stalled-shipment alerts published on ALERTS."}),
		stallScans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_projector_stall_scans_total",
			Help: "Stall scans, by outcome (done, skipped: behind or another replica scanning, failed)."}, []string{"outcome"}),
	}
	m.postgresUp.Set(1)
	reg.MustRegister(m.events, m.batchEvents, m.writeTime, m.latency, m.retries, m.rejected,
		m.deadLetters, m.postgresUp, m.stalled, m.stallScans)
	return m
}
