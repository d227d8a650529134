package console

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// ev is a normalized event as the normalizer would emit it.
func ev(carrier, trackingNumber string, st tracking.Status, at time.Time, refs map[string]string) tracking.Event {
	e := tracking.Event{
		Carrier: carrier, TrackingNumber: trackingNumber, Status: st, CarrierStatus: "CODE-" + string(st),
		Message: "scan " + string(st), OccurredAt: at, OccurredAtPrecision: tracking.PrecisionSecond,
		Location: tracking.Location{City: "Memphis", State: "TN", Country: "US"},
		Source:   "wineshipping", RawEventID: "raw-" + trackingNumber, References: refs,
		LocalTime: at.In(time.FixedZone("CST", -6*3600)).Format("2006-01-02 15:04:05"),
		Timezone:  "America/Chicago", TimezoneSource: tracking.ZoneSource("zip"), TimezoneInferred: true,
	}
	e.Normalize()
	return e
}

// TestShipmentsPagination walks every page over page boundaries that fall
// inside groups of shipments with the same status_at: every shipment
// appears exactly once, newest first, ties by key.
func TestShipmentsPagination(t *testing.T) {
	h := newHarness(t)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var evs []tracking.Event
	type row struct {
		at  time.Time
		key string
	}
	var want []row
	for i := 0; i < 23; i++ {
		at := base.Add(time.Duration(i/5) * time.Hour) // groups of 5 share status_at
		e := ev("ups", fmt.Sprintf("1ZPAGE%02d", i), tracking.InTransit, at, nil)
		evs = append(evs, e)
		want = append(want, row{at, e.ShipmentKey})
	}
	h.seedEvents(t, evs...)
	slices.SortFunc(want, func(a, b row) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})

	api := h.api(t)
	for _, limit := range []int{1, 4, 5, 7, 23, 50} {
		var got []string
		cursor, pages := "", 0
		for {
			path := fmt.Sprintf("/api/v1/shipments?limit=%d", limit)
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var page shipmentList
			api.getJSON(path, http.StatusOK, &page)
			pages++
			if len(page.Shipments) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page.Shipments))
			}
			for _, s := range page.Shipments {
				got = append(got, s.ShipmentKey)
			}
			if page.NextCursor == "" {
				break
			}
			if pages > 30 {
				t.Fatal("pagination does not end")
			}
			cursor = page.NextCursor
		}
		var wantKeys []string
		for _, r := range want {
			wantKeys = append(wantKeys, r.key)
		}
		if !slices.Equal(got, wantKeys) {
			t.Errorf("limit %d: got %v\nwant %v", limit, got, wantKeys)
		}
		if wantPages := (23 + limit - 1) / limit; pages != wantPages && pages != wantPages+1 {
			t.Errorf("limit %d: %d pages", limit, pages)
		}
	}
}

func TestShipmentsFiltersAndSearch(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	h.seedEvents(t,
		ev("ups", "1Z999AA10123456784", tracking.Delivered, at, map[string]string{"order_id": "33516482"}),
		ev("ups", "1Z999AA10123456785", tracking.InTransit, at.Add(time.Minute), map[string]string{"order_id": "33516499", "device_id": "DEV-77"}),
		ev("usps", "9400100000000000000001", tracking.InTransit, at.Add(2*time.Minute), map[string]string{"partner_ref": "PR-1"}),
		ev("fedex", "777000111", tracking.FailedAttempt, at.Add(3*time.Minute), nil),
	)
	api := h.api(t)
	keys := func(path string) []string {
		t.Helper()
		var page shipmentList
		api.getJSON(path, http.StatusOK, &page)
		var out []string
		for _, s := range page.Shipments {
			out = append(out, s.ShipmentKey)
		}
		return out
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"all newest first", "", []string{"fedex:777000111", "usps:9400100000000000000001", "ups:1Z999AA10123456785", "ups:1Z999AA10123456784"}},
		{"status", "status=in_transit", []string{"usps:9400100000000000000001", "ups:1Z999AA10123456785"}},
		{"carrier any case", "carrier=UPS", []string{"ups:1Z999AA10123456785", "ups:1Z999AA10123456784"}},
		{"status and carrier", "status=delivered&carrier=ups", []string{"ups:1Z999AA10123456784"}},
		{"order id exact", "q=33516482", []string{"ups:1Z999AA10123456784"}},
		{"order id prefix", "q=335164", []string{"ups:1Z999AA10123456785", "ups:1Z999AA10123456784"}},
		{"device id", "q=DEV-77", []string{"ups:1Z999AA10123456785"}},
		{"tracking number exact", "q=777000111", []string{"fedex:777000111"}},
		{"tracking number prefix, typed loosely", "q=" + url.QueryEscape("1z999 aa1012345678"), []string{"ups:1Z999AA10123456785", "ups:1Z999AA10123456784"}},
		{"search and status", "q=335164&status=delivered", []string{"ups:1Z999AA10123456784"}},
		{"no match", "q=nothing-like-this", nil},
		{"unknown carrier", "carrier=dhl", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := keys("/api/v1/shipments?" + tt.query); !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	var page shipmentList
	api.getJSON("/api/v1/shipments?q=33516482", http.StatusOK, &page)
	if s := page.Shipments[0]; s.References["order_id"] != "33516482" || s.Status != tracking.Delivered || s.DeliveredAt == nil || s.EventCount != 1 {
		t.Errorf("shipment %+v", s)
	}
	assertNoPrivateDataLogged(t, h, "33516482", "DEV-77", "PR-1", "1Z999AA1012345678")
}

// TestShipmentTimeline reads a shipment whose events arrived out of order
// (one of them late): the timeline is oldest first by carrier time with
// every field the web console shows.
func TestShipmentTimeline(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)
	refs := map[string]string{"order_id": "ORD-9"}
	delivered := ev("ups", "1ZTIME", tracking.Delivered, at.Add(48*time.Hour), refs)
	info := ev("ups", "1ZTIME", tracking.InfoReceived, at, refs)
	transit := ev("ups", "1ZTIME", tracking.InTransit, at.Add(24*time.Hour), nil)
	transit.Late = true
	transit.TimezoneInferred = false
	transit.Timezone, transit.TimezoneSource, transit.LocalTime = "-05:00", tracking.ZoneSource("offset"), "2026-03-04T03:00:00-05:00"
	h.seedEvents(t, delivered, info)
	h.seedEvents(t, transit) // after the delivery: the projector recomputes

	var d shipmentDetail
	api := h.api(t)
	for _, path := range []string{"/api/v1/shipments/ups/1ZTIME", "/api/v1/shipments/UPS/1ztime"} {
		api.getJSON(path, http.StatusOK, &d)
	}
	if d.Shipment.ShipmentKey != "ups:1ZTIME" || d.Shipment.Status != tracking.Delivered || d.Shipment.EventCount != 3 ||
		d.Shipment.References["order_id"] != "ORD-9" {
		t.Errorf("shipment %+v", d.Shipment)
	}
	var order []tracking.Status
	for _, e := range d.Events {
		order = append(order, e.Status)
	}
	if want := []tracking.Status{tracking.InfoReceived, tracking.InTransit, tracking.Delivered}; !slices.Equal(order, want) {
		t.Fatalf("timeline %v, want %v", order, want)
	}
	mid := d.Events[1]
	if !mid.Late || mid.TimezoneInferred || mid.Timezone != "-05:00" || mid.LocalTime != "2026-03-04T03:00:00-05:00" ||
		mid.Source != "wineshipping" || mid.CarrierStatus != "CODE-in_transit" || mid.Location.City != "Memphis" ||
		!mid.OccurredAt.Equal(at.Add(24*time.Hour)) || mid.OccurredAt.Location() != time.UTC {
		t.Errorf("event %+v", mid)
	}
	if first := d.Events[0]; first.Late || !first.TimezoneInferred || first.Timezone != "America/Chicago" || first.Message != "scan info_received" {
		t.Errorf("event %+v", first)
	}

	resp, body := api.do(http.MethodGet, "/api/v1/shipments/ups/NOSUCH", nil, nil)
	wantError(t, "unknown shipment", resp, body, http.StatusNotFound, "")
	assertNoPrivateDataLogged(t, h, "ORD-9", "1ZTIME")
}

func TestShipmentsBadRequests(t *testing.T) {
	h := newHarness(t)
	at := time.Date(2026, 3, 4, 8, 0, 0, 0, time.UTC)
	for i := 0; i < 3; i++ {
		h.seedEvents(t, ev("ups", fmt.Sprintf("1ZBAD%d", i), tracking.InTransit, at, nil))
	}
	api := h.api(t)
	var page shipmentList
	api.getJSON("/api/v1/shipments?limit=1&status=in_transit", http.StatusOK, &page)
	if page.NextCursor == "" {
		t.Fatal("no next cursor")
	}
	good := page.NextCursor
	payload, mac, _ := strings.Cut(good, ".")
	flip := func(s string) string {
		b := []byte(s)
		if b[0] == 'A' {
			b[0] = 'B'
		} else {
			b[0] = 'A'
		}
		return string(b)
	}
	tests := []struct {
		name, query, parameter string
	}{
		{"limit zero", "limit=0", "limit"},
		{"limit too big", "limit=501", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"limit negative", "limit=-1", "limit"},
		{"status outside the taxonomy", "status=lost_in_space", "status"},
		{"cursor payload modified", "status=in_transit&limit=1&cursor=" + url.QueryEscape(flip(payload)+"."+mac), "cursor"},
		{"cursor signature modified", "status=in_transit&limit=1&cursor=" + url.QueryEscape(payload+"."+flip(mac)), "cursor"},
		{"cursor without signature", "status=in_transit&limit=1&cursor=" + url.QueryEscape(payload), "cursor"},
		{"cursor garbage", "cursor=%25%25%25", "cursor"},
		{"cursor of other filters", "status=delivered&limit=1&cursor=" + url.QueryEscape(good), "cursor"},
		{"q not UTF-8", "q=%ff%fe", "q"},
		{"q too long", "q=" + strings.Repeat("x", 300), "q"},
		{"carrier unusable", "carrier=%21%21", "carrier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := api.do(http.MethodGet, "/api/v1/shipments?"+tt.query, nil, nil)
			wantError(t, tt.name, resp, body, http.StatusBadRequest, tt.parameter)
		})
	}
	// The good cursor still works with its own filters.
	api.getJSON("/api/v1/shipments?limit=1&status=in_transit&cursor="+url.QueryEscape(good), http.StatusOK, &page)
	if len(page.Shipments) != 1 {
		t.Errorf("page %+v", page)
	}
}

// TestShipmentsNotMigrated: a console over a database the projector has not
// migrated yet is not ready and answers 503, and never creates the schema.
func TestShipmentsNotMigrated(t *testing.T) {
	h := newHarnessWith(t, func(c *Config) { c.DatabaseURL = emptyDatabase(t) }, false)
	resp, body := h.api(t).do(http.MethodGet, "/api/v1/shipments", nil, nil)
	wantError(t, "not migrated", resp, body, http.StatusServiceUnavailable, "")
	r, err := http.Get(h.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("readyz %d", r.StatusCode)
	}
}
