package console

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/waybill-dev/waybill/pkg/lookup"
	"github.com/waybill-dev/waybill/pkg/tracking"
)

// Page sizes of the list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 500
	// maxQuery bounds q: the longest reference or tracking number, with
	// room to spare.
	maxQuery = 256
)

// parseLimit reads limit (defaultLimit when absent) and reports whether it
// was in 1..maxLimit, answering 400 otherwise.
func parseLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultLimit, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		writeError(w, http.StatusBadRequest, "limit", "limit must be an integer from 1 to "+strconv.Itoa(maxLimit))
		return 0, false
	}
	return n, true
}

// shipmentCursor is the position a shipments cursor carries.
type shipmentCursor struct {
	StatusAt int64  `json:"t"` // status_at in Unix microseconds: what Postgres keeps
	Key      string `json:"k"`
}

// shipmentList is the answer of GET /api/v1/shipments.
type shipmentList struct {
	Shipments  []lookup.Shipment `json:"shipments"`
	NextCursor string            `json:"next_cursor,omitempty"`
}

func (s *server) listShipments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var f lookup.Filter
	if v := q.Get("status"); v != "" {
		st, err := tracking.ParseStatus(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "status", "status must be one of the taxonomy: "+statusList())
			return
		}
		f.Status = st
	}
	if v := q.Get("carrier"); v != "" {
		f.Carrier = tracking.NormalizeCarrier(v)
		if f.Carrier == "" || len(v) > 64 {
			writeError(w, http.StatusBadRequest, "carrier", "carrier must be a carrier code such as ups or usps")
			return
		}
	}
	f.Query = strings.TrimSpace(q.Get("q"))
	if len(f.Query) > maxQuery || !utf8.ValidString(f.Query) || strings.ContainsRune(f.Query, 0) {
		writeError(w, http.StatusBadRequest, "q", "q must be UTF-8 text of at most "+strconv.Itoa(maxQuery)+" bytes")
		return
	}
	limit, ok := parseLimit(w, r)
	if !ok {
		return
	}
	// The cursor is bound to the filters as they were normalized, so it
	// keeps working for the same query written another way.
	filters := []string{string(f.Status), f.Carrier, f.Query}
	var after *lookup.Position
	if v := q.Get("cursor"); v != "" {
		var c shipmentCursor
		if err := s.keys.openCursor("shipments", filters, v, &c); err != nil {
			writeError(w, http.StatusBadRequest, "cursor", err.Error())
			return
		}
		after = &lookup.Position{StatusAt: time.UnixMicro(c.StatusAt).UTC(), ShipmentKey: c.Key}
	}
	page, err := s.db.List(r.Context(), f, after, limit)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	out := shipmentList{Shipments: page.Shipments}
	if out.Shipments == nil {
		out.Shipments = []lookup.Shipment{}
	}
	if page.Next != nil {
		out.NextCursor, err = s.keys.signCursor("shipments", filters,
			shipmentCursor{StatusAt: page.Next.StatusAt.UnixMicro(), Key: page.Next.ShipmentKey})
		if err != nil {
			s.internalError(w, r, err)
			return
		}
	}
	writeEncoded(w, http.StatusOK, func(b []byte) ([]byte, error) { return appendShipmentList(b, &out) })
}

// shipmentDetail is the answer of GET /api/v1/shipments/{carrier}/{tracking}.
type shipmentDetail struct {
	Shipment lookup.Shipment `json:"shipment"`
	// Events are oldest first by carrier time.
	Events []lookup.Event `json:"events"`
}

func (s *server) getShipment(w http.ResponseWriter, r *http.Request) {
	key := lookup.FormatKey(r.PathValue("carrier"), r.PathValue("tracking"))
	sh, events, err := s.db.Detail(r.Context(), key)
	if errors.Is(err, lookup.ErrNotFound) {
		writeError(w, http.StatusNotFound, "", "no such shipment")
		return
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	if events == nil {
		events = []lookup.Event{}
	}
	d := shipmentDetail{Shipment: sh, Events: events}
	writeEncoded(w, http.StatusOK, func(b []byte) ([]byte, error) { return appendShipmentDetail(b, &d) })
}

func statusList() string {
	names := make([]string, len(tracking.Statuses))
	for i, st := range tracking.Statuses {
		names[i] = string(st)
	}
	return strings.Join(names, ", ")
}
