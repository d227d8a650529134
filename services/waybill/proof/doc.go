// Package proof holds the pipeline's fault tests (issue 7, "Faults"). The
// real ingress, normalizer and projector binaries (built once per test
// binary with go build) run as subprocesses against a JetStream server
// embedded in the test process (pkg/streams/natstest: a fixed store
// directory and port, so it can be stopped and restarted) and a fresh
// Postgres database (pkg/pgtest). A steady load from pkg/webhookload (all
// four webhook providers, 10% provider retries, 5% out-of-order
// deliveries, 1% malformed bodies) is posted through ingress the way
// providers post: each webhook retried on 503 and on connection errors
// until it is answered. In the middle of the load a fault is injected and
// recovered from:
//
//   - TestKillIngress, TestKillNormalizer, TestKillProjector: kill -9 of the
//     service, restarted a second later;
//   - TestJetStreamRestart: the JetStream server stopped for 8 s (longer
//     than ingress's publish timeout, so ingress answers 503) and restarted
//     on the same port and store;
//   - TestPostgresOutage: a TCP proxy in front of Postgres breaks the
//     projector's connections and refuses new ones for 10 s;
//   - TestSlowConsumer (soak only): the projector stopped with SIGSTOP for a
//     minute while the load goes on.
//
// Once the load has ended and every durable consumer has settled, each test
// proves, against an expectation computed offline by mapping every webhook
// answered 200 with the real provider mappings (at the receipt time ingress
// stored on RAW, which Tenovi's events are placed at):
//
//   - nothing accepted is lost: every accepted webhook is on RAW and every
//     expected event is in waybill.shipment_events;
//   - nothing is duplicated: waybill.shipment_events holds no other rows and
//     each id once, RAW holds each (source, event id) once, SHIPMENTS each
//     event id once;
//   - every row of waybill.shipments (status, status_at, last_event_id,
//     event_count) equals the one computed from its shipment's events:
//     latest carrier time, status rank breaks ties, then id
//     (tracking.Before); no other rows;
//   - every malformed body is on DEADLETTER, and nothing else is;
//   - no service exited on its own.
//
// TestSlowConsumer also proves the projector catches up after the pause and
// the normalizer's peak resident memory (VmHWM) stays under
// normalizerRSSLimit.
//
// The short variants (150 shipments, about 1,600 webhooks over 15-20 s, one
// fault) run in `make test`. WAYBILL_SOAK=1 (`make soak`) runs 2,000
// shipments (about 21,000 webhooks) over 3 minutes with the fault repeated
// along the load, TestKillEachInTurn (every service killed in turn, twice
// over) and TestSlowConsumer.
//
// The package has no code besides this file: the harness is in its tests.
package proof
