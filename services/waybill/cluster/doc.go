// Package cluster holds the proof that waybill scales out and survives on
// NATS's own clustering: its tests start a real 3-node JetStream cluster
// in-process (natstest.StartCluster), R3 streams, two replicas of ingress,
// normalizer and projector, a steady webhook load (pkg/webhookload), and
// then fail nodes and replicas. The short test runs in `make test`; the long
// ones (kill -9 of service replicas, longer load) only with WAYBILL_SOAK=1
// (`make soak`). The package has no code of its own.
package cluster
