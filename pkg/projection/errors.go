package projection

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Retryable reports whether an error from this package may go away if the
// same call is tried again, so the projector naks the batch (true) rather
// than dead-lettering it (false).
//
// Permanent: events that break the contract (tracking.ErrInvalidEvent) and
// what Postgres rejects in the data itself, SQLSTATE classes 22 (data
// exception: a NUL byte, invalid UTF-8, a value out of range), 23 (integrity
// constraint) and 54 (program limit: a reference too long to index). Such a
// batch fails the same way every time; the caller can apply its events one
// by one to find the culprit.
//
// Everything else is retryable: connection loss and timeouts, cancellation,
// serialization failures and deadlocks (40), exhausted resources (53), a
// server shutting down (57), and also schema or privilege errors (42), which
// a deployment fixes, not a dead letter. Apply is idempotent, so a retry is
// safe even when the failed attempt's commit may have reached the server:
// pgconn.SafeToRetry's "nothing was sent" guarantee is not needed here.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, tracking.ErrInvalidEvent) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && len(pgErr.Code) == 5 {
		switch pgErr.Code[:2] {
		case "22", "23", "54":
			return false
		}
	}
	return true
}
