package uspspoller

import "github.com/prometheus/client_golang/prometheus"

// Poll outcomes, the "outcome" label of waybill_uspspoller_polls_total.
const (
	outcomeNew          = "new"          // 200, a response not seen before (published)
	outcomeUnchanged    = "unchanged"    // 200, same newest event as the last poll (published, a duplicate)
	outcomeNotFound     = "not_found"    // 404: not in the USPS system yet
	outcomeRateLimited  = "rate_limited" // 429
	outcomeUnavailable  = "unavailable"  // 5xx or no answer
	outcomeUnauthorized = "unauthorized" // credentials or token refused
	outcomeForbidden    = "forbidden"    // 403
	outcomeRejected     = "rejected"     // another 4xx
	outcomeError        = "error"        // the response could not be stored
)

type metrics struct {
	polls         *prometheus.CounterVec
	tokens        *prometheus.CounterVec
	events        *prometheus.CounterVec
	expired       prometheus.Counter
	pauses        *prometheus.CounterVec
	conflicts     prometheus.Counter
	quotaNeeded   prometheus.Gauge
	quotaLimit    prometheus.Gauge
	stretch       prometheus.Gauge
	scheduleSize  prometheus.GaugeFunc
	oldestOverdue prometheus.GaugeFunc
}

func newMetrics(reg prometheus.Registerer, sched *schedule, clock Clock) *metrics {
	m := &metrics{
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_uspspoller_polls_total",
			Help: "USPS tracking polls by outcome: new, unchanged, not_found, rate_limited, unavailable, unauthorized, forbidden, rejected, error.",
		}, []string{"outcome"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_uspspoller_token_requests_total",
			Help: "USPS OAuth token requests (refreshes) by outcome: ok, error.",
		}, []string{"outcome"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_uspspoller_shipment_events_total",
			Help: "SHIPMENTS events seen by what they did to the schedule: scheduled, off, news, none, ignored.",
		}, []string{"action"}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_uspspoller_expired_total",
			Help: "Shipments taken off the schedule after USPS_MAX_AGE without USPS news (an expired event was published).",
		}),
		pauses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "waybill_uspspoller_backoffs_total",
			Help: "Times all polling was paused, by cause: rate_limited (429), unavailable (5xx), unauthorized.",
		}, []string{"cause"}),
		conflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "waybill_uspspoller_claim_conflicts_total",
			Help: "Due polls another replica claimed first (compare-and-set lost): expected with several replicas.",
		}),
		quotaNeeded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_uspspoller_quota_needed_per_hour",
			Help: "USPS requests per hour the schedule needs at the configured interval (active shipments / mean interval).",
		}),
		quotaLimit: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_uspspoller_quota_limit_per_hour",
			Help: "USPS_RATE_LIMIT: requests per hour allowed, token requests included.",
		}),
		stretch: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "waybill_uspspoller_interval_stretch",
			Help: "Factor every poll interval is stretched by because the quota is short (1: not stretched).",
		}),
	}
	m.scheduleSize = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waybill_uspspoller_schedule_size",
		Help: "Shipments on the poll schedule (every replica reports the whole schedule).",
	}, func() float64 { return float64(sched.size()) })
	m.oldestOverdue = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "waybill_uspspoller_oldest_overdue_seconds",
		Help: "How long the most overdue scheduled poll has been due (0: none is overdue).",
	}, func() float64 { return sched.overdue(clock.Now()).Seconds() })
	m.stretch.Set(1)
	reg.MustRegister(m.polls, m.tokens, m.events, m.expired, m.pauses, m.conflicts,
		m.quotaNeeded, m.quotaLimit, m.stretch, m.scheduleSize, m.oldestOverdue)
	for _, o := range []string{outcomeNew, outcomeUnchanged, outcomeNotFound, outcomeRateLimited, outcomeUnavailable,
		outcomeUnauthorized, outcomeForbidden, outcomeRejected, outcomeError} {
		m.polls.WithLabelValues(o)
	}
	return m
}
