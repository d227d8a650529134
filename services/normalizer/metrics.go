package normalizer

import (
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	raw             *prometheus.CounterVec // by source and outcome
	eventsIn        *prometheus.CounterVec // candidates mapped, by source
	eventsOut       *prometheus.CounterVec // emitted to SHIPMENTS, by source
	duplicates      prometheus.Counter
	candidatesKnown prometheus.Counter // not stored again: the mapper stored them lately
	late            prometheus.Counter
	unknown         *prometheus.CounterVec // unmapped carrier statuses, by source
	deadLetters     *prometheus.CounterVec // by stage step and source
	buffered        prometheus.Gauge
	flushes         prometheus.Histogram
	flushSeconds    prometheus.Histogram
	acquired        prometheus.Counter
	// Where an event's time goes, stage by stage: a growing one names the
	// stage that falls behind.
	rawWait        prometheus.Histogram // RAW stored -> mapped
	candidateStore prometheus.Histogram // mapped -> its candidates stored
	candidateWait  prometheus.Histogram // CANDIDATES stored -> buffered
	emitDelay      prometheus.Histogram // buffer due (window passed) -> stored and acked
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		raw: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_normalizer_raw_total",
			Help: "Raw messages handled, by source and outcome (mapped, not_shipment, deadlettered)."}, []string{"source", "outcome"}),
		eventsIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_normalizer_events_in_total",
			Help: "Candidate events mapped from raw messages, by source."}, []string{"source"}),
		eventsOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_normalizer_events_out_total",
			Help: "Normalized events stored on SHIPMENTS, by source."}, []string{"source"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_normalizer_duplicates_total",
			Help: "Candidate events dropped as duplicates of an event already emitted or buffered."}),
		candidatesKnown: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_normalizer_candidates_known_total",
			Help: "Candidate events not stored on CANDIDATES again: a repeat of an event this replica stored lately (providers resend whole histories)."}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_normalizer_late_events_total",
			Help: "Events emitted after a later event of the same shipment (late: true)."}),
		unknown: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_normalizer_unknown_status_total",
			Help: "Events whose carrier status no mapping knows (kept as unknown), by source."}, []string{"source"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "waybill_normalizer_deadletters_total",
			Help: "Messages put on DEADLETTER, by source."}, []string{"source"}),
		buffered: prometheus.NewGauge(prometheus.GaugeOpts{Name: "waybill_normalizer_buffered_events",
			Help: "Events held in reorder buffers."}),
		flushes: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_flush_events",
			Help: "Events emitted per flush.", Buckets: prometheus.ExponentialBuckets(1, 4, 8)}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_flush_seconds",
			Help:    "Time a flush takes to store its events on SHIPMENTS and its states, and ack its candidates.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		acquired: prometheus.NewCounter(prometheus.CounterOpts{Name: "waybill_normalizer_partitions_acquired_total",
			Help: "CANDIDATES partitions this replica became the pinned owner of (at start, and on every handover)."}),
		rawWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_raw_wait_seconds",
			Help: "Time from a raw message stored on RAW to its mapping.", Buckets: stageBuckets}),
		candidateStore: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_candidate_store_seconds",
			Help: "Time from a raw message mapped to its candidates stored on CANDIDATES.", Buckets: stageBuckets}),
		candidateWait: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_candidate_wait_seconds",
			Help: "Time from a candidate stored on CANDIDATES to its reorder buffer.", Buckets: stageBuckets}),
		emitDelay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "waybill_normalizer_emit_delay_seconds",
			Help: "Time from a reorder buffer's window passing to its events and state stored.", Buckets: stageBuckets}),
	}
	reg.MustRegister(m.candidatesKnown, m.raw, m.eventsIn, m.eventsOut, m.duplicates, m.late, m.unknown, m.deadLetters, m.buffered, m.flushes, m.flushSeconds, m.acquired,
		m.rawWait, m.candidateStore, m.candidateWait, m.emitDelay)
	return m
}

// stageBuckets: 1ms to ~16s.
var stageBuckets = prometheus.ExponentialBuckets(0.001, 2, 15)

// observeSince records the time since a message was stored on its stream.
func observeSince(h prometheus.Observer, msg interface {
	Metadata() (*jetstream.MsgMetadata, error)
}, now time.Time) {
	if meta, err := msg.Metadata(); err == nil {
		h.Observe(now.Sub(meta.Timestamp).Seconds())
	}
}
