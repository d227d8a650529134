package streams

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/nats-io/nats.go/jetstream"
)

// ensureStream creates sc's stream, or updates it when it is not already
// configured as sc asks. Every service calls Ensure at start, and docker
// compose starts them together: an update that changes nothing is skipped,
// because besides the round trip it is a stream update, which nats-server
// (seen in 2.15.2 under the race detector) races against a consumer being
// created on the same stream by another service starting beside it.
func ensureStream(ctx context.Context, js jetstream.JetStream, sc jetstream.StreamConfig) error {
	have, err := streamConfig(ctx, js, sc.Name)
	if err != nil {
		return err
	}
	return applyStream(ctx, js, have, sc)
}

// streamConfig returns the stream's configuration, nil when it does not
// exist.
func streamConfig(ctx context.Context, js jetstream.JetStream, name string) (*jetstream.StreamConfig, error) {
	s, err := js.Stream(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("streams: %s: %w", name, err)
	}
	return &s.CachedInfo().Config, nil
}

// applyStream creates or updates the stream to sc unless have (its
// configuration now, nil when missing) already covers it.
func applyStream(ctx context.Context, js jetstream.JetStream, have *jetstream.StreamConfig, sc jetstream.StreamConfig) error {
	if have != nil && Covers(*have, sc) {
		return nil
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("streams: create or update %s: %w", sc.Name, err)
	}
	return nil
}

// Covers reports whether a stream configured as have already is what want
// asks for: every field waybill sets is equal, and every metadata key want
// names has its value (the server adds keys of its own). The fields the
// server fills in with defaults, which waybill leaves zero, are not
// compared. TestCoversComparesEveryFieldWaybillSets keeps this list whole.
func Covers(have, want jetstream.StreamConfig) bool {
	if have.Name != want.Name || have.Description != want.Description ||
		!slices.Equal(have.Subjects, want.Subjects) ||
		have.Storage != want.Storage || have.Retention != want.Retention ||
		have.Replicas != want.Replicas || have.MaxAge != want.MaxAge ||
		have.MaxBytes != want.MaxBytes || have.Discard != want.Discard ||
		have.Duplicates != want.Duplicates ||
		have.AllowAtomicPublish != want.AllowAtomicPublish {
		return false
	}
	for k, v := range want.Metadata {
		if got, ok := have.Metadata[k]; !ok || got != v {
			return false
		}
	}
	return true
}
