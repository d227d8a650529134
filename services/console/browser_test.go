package console

// Browser tests of the web console: Debian's headless Chromium, driven from
// Go with chromedp, against a real console (harness_test.go: Postgres and
// an embedded JetStream). Every tab fails its test on a page exception, a
// console error or warning, a CSP violation or an unexpected failed request.
//
// WAYBILL_SCREENSHOTS=1 also writes docs/console-shipment.png and
// docs/console-overview.png; every run saves a screenshot of each page in
// the test's artifact directory (kept with go test -artifacts).

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/waybill-dev/waybill/pkg/service"
	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/tracking"
	"github.com/waybill-dev/waybill/services/ingress"
	"github.com/waybill-dev/waybill/services/normalizer"
)

const (
	chromiumPath = "/usr/bin/chromium"
	// tabTimeout bounds everything one subtest does in its tab, so a page
	// that never shows what a test waits for fails the test, never hangs it.
	tabTimeout = 90 * time.Second
	// waitTimeout bounds one wait for the page to reach a state.
	waitTimeout = 15 * time.Second
	// liveWithin is the bound from publish to the Live page.
	liveWithin = 2 * time.Second
)

// browserCSPHook runs before any page script: it records CSP violations, which
// the tab checks along with the console.
const browserCSPHook = `window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' at ' + e.sourceFile + ':' + e.lineNumber);
});`

func TestBrowser(t *testing.T) {
	browser := startBrowser(t)
	h := newHarness(t)

	t.Run("Login", func(t *testing.T) {
		tab := newBrowserTab(t, browser, h)
		tab.do(t, chromedp.Navigate(h.URL+"/shipments"), chromedp.WaitVisible(chromedp.CSS("#token")))
		tab.shot(t, "login")
		if got := tab.eval(t, `document.activeElement && document.activeElement.id`); got != "token" {
			t.Errorf("focus on the login form is on %q, want the token field", got)
		}
		tab.do(t, chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"+kb.Enter))
		tab.waitText(t, "#login-error", "not valid")
		tab.do(t, clearField("token"), chromedp.SendKeys(chromedp.CSS("#token"), h.Token+kb.Enter))
		// The page asked for before the login is the one shown after it.
		tab.waitText(t, "main h1", "Shipments")
		tab.do(t, chromedp.WaitVisible(chromedp.ID("logout")))
		tab.shot(t, "shipments-empty")

		tab.do(t, chromedp.Click(chromedp.ID("logout")), chromedp.WaitVisible(chromedp.CSS("#token")))
		if got := tab.eval(t, `document.getElementById('logout').hidden`); got != "true" {
			t.Errorf("log-out button hidden = %s after logging out", got)
		}
		// The cookie is gone: a reload asks for the token again.
		tab.do(t, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#token")))
		tab.assertClean(t)
	})

	t.Run("CSPEnforced", func(t *testing.T) {
		resp, err := http.Get(h.URL + "/shipments/ups/1Z")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"script-src 'self'", "style-src 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
			}
		}
		// The violation detector the other tests rely on sees a violation:
		// an inline style set from outside is blocked and reported.
		tab := newBrowserTab(t, browser, h)
		tab.do(t, chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#token")),
			chromedp.Evaluate[chromedp.Void](`document.body.setAttribute('style', 'outline: 1px solid red')`))
		tab.waitJS(t, `() => window.__cspViolations.length > 0`)
	})

	t.Run("Overview", func(t *testing.T) {
		now := time.Now().UTC()
		statuses := []tracking.Status{tracking.Delivered, tracking.Delivered, tracking.InTransit, tracking.InTransit,
			tracking.InTransit, tracking.OutForDelivery, tracking.Exception, tracking.FailedAttempt, tracking.InfoReceived}
		carriers := []string{"ups", "usps", "fedex"}
		for i, st := range statuses {
			h.seedEvents(t, tracking.Event{
				Carrier: carriers[i%len(carriers)], TrackingNumber: fmt.Sprintf("OVW%04d", i), Status: st,
				CarrierStatus: "X" + strconv.Itoa(i), OccurredAt: now.Add(-time.Duration(i) * time.Hour), Source: "wineshipping",
			})
		}
		h.seedDeadletter(t, "normalizer", "carriyo", []byte(`{"event":"unmappable"}`), "carriyo: no tracking number")
		h.seedDeadletter(t, "normalizer", "carriyo", []byte(`{"event":"unmappable 2"}`), "carriyo: no tracking number")
		h.seedDeadletter(t, "ingress", "tenovi", []byte(`not json`), "body is not JSON")

		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.WaitVisible(chromedp.CSS(".tiles")))
		var st struct {
			Shipments struct {
				Total    int64            `json:"total"`
				ByStatus map[string]int64 `json:"by_status"`
				Stalled  int64            `json:"stalled"`
			} `json:"shipments"`
			DeadLettersTotal int64 `json:"dead_letters_total"`
		}
		bearerGetJSON(t, h, "/api/v1/stats", &st)
		if st.Shipments.Total < int64(len(statuses)) {
			t.Fatalf("API reports %d shipments, seeded %d", st.Shipments.Total, len(statuses))
		}
		tiles := tab.evalStrings(t, `[...document.querySelectorAll('.tiles .tile')].map((el) => el.innerText.trim().replace(/\s+/g, ' '))`)
		for _, want := range []string{
			fmt.Sprintf("%d shipments", st.Shipments.Total),
			fmt.Sprintf("%d stalled", st.Shipments.Stalled),
			fmt.Sprintf("%d dead letters", st.DeadLettersTotal),
		} {
			if !hasString(tiles, want) {
				t.Errorf("summary tiles %q lack %q", tiles, want)
			}
		}
		// The chart is a table: each status a row header with its count.
		rows := tab.evalStrings(t, `[...document.querySelectorAll('.chart-table tbody tr')].map((tr) =>
			tr.querySelector('th[scope=row]').textContent.trim() + '=' + tr.querySelector('td.num').textContent.trim())`)
		for status, n := range st.Shipments.ByStatus {
			if n == 0 {
				continue
			}
			if want := fmt.Sprintf("%s=%d", browserStatusLabel(status), n); !hasString(rows, want) {
				t.Errorf("status chart rows %q lack %q", rows, want)
			}
		}
		dl := tab.evalStrings(t, `[...document.querySelectorAll('[aria-labelledby=ov-dl] tbody tr')].map((tr) => tr.innerText.trim().replace(/\s+/g, ' '))`)
		if !hasString(dl, "normalizer carriyo 2") || !hasString(dl, "ingress tenovi 1") {
			t.Errorf("dead-letter rows %q, want normalizer/carriyo 2 and ingress/tenovi 1", dl)
		}
		if got := tab.eval(t, `document.querySelector('.columns').getAttribute('aria-label')`); !strings.Contains(got, "events in the last hour") {
			t.Errorf("events-per-minute chart has no text equivalent: aria-label %q", got)
		}
		tab.shot(t, "overview")
		tab.docShot(t, "console-overview.png")
		tab.assertClean(t)
	})

	t.Run("SearchByReference", func(t *testing.T) {
		h.seedEvents(t, tracking.Event{
			Carrier: "usps", TrackingNumber: "9400111899223197428490", Status: tracking.InTransit, CarrierStatus: "10",
			OccurredAt: time.Now().Add(-3 * time.Hour), Source: "tenovi",
			References: map[string]string{"order_id": "33516482", "device_id": "DEV-SEARCH-1"},
		})
		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/shipments"), chromedp.WaitVisible(chromedp.ID("q")))
		// A prefix of the order id finds it.
		tab.do(t, chromedp.SendKeys(chromedp.ID("q"), "3351648"+kb.Enter))
		// The unfiltered first page lists it too: wait for the search's answer.
		tab.waitText(t, "#results-title", "Shipments found (1)")
		link := `table.shipments a[href="/shipments/usps/9400111899223197428490"]`
		tab.do(t, chromedp.WaitVisible(chromedp.CSS(link)))
		if got := tab.eval(t, `location.search`); got != "?q=3351648" {
			t.Errorf("search is not in the URL: %q", got)
		}
		if n := tab.eval(t, `document.querySelectorAll('table.shipments tbody tr').length`); n != "1" {
			t.Errorf("%s rows for the order id, want 1", n)
		}
		tab.shot(t, "shipments-search")
		tab.do(t, chromedp.Click(chromedp.CSS(link)))
		tab.waitText(t, "main h1", "9400111899223197428490")
		tab.waitText(t, ".shipment-head", "DEV-SEARCH-1")
		// Back returns to the search, as it was.
		tab.do(t, chromedp.NavigateBack(), chromedp.WaitVisible(chromedp.CSS(link)))
		if got := tab.eval(t, `document.getElementById('q').value`); got != "3351648" {
			t.Errorf("search box holds %q after Back", got)
		}
		// A search that matches nothing says so.
		tab.do(t, clearField("q"), chromedp.SendKeys(chromedp.ID("q"), "NO-SUCH-ORDER"+kb.Enter))
		tab.waitText(t, "#results-title", "No shipments found")
		tab.assertClean(t)
	})

	t.Run("ShipmentTimeline", func(t *testing.T) {
		const trk = "1ZBROWSER0000000001"
		newYork, _ := time.LoadLocation("America/New_York")
		chicago, _ := time.LoadLocation("America/Chicago")
		label := tracking.Event{
			Carrier: "ups", TrackingNumber: trk, Status: tracking.InfoReceived, CarrierStatus: "MP",
			Message:    "Shipper created a label, UPS has not received the package yet",
			OccurredAt: time.Date(2025, 11, 20, 9, 15, 0, 0, newYork), LocalTime: "2025-11-20 09:15",
			Timezone: "America/New_York", TimezoneSource: tracking.ZoneFromZIP, TimezoneInferred: true,
			Location: tracking.Location{City: "Atlanta", State: "GA", PostalCode: "30301", Country: "US"},
			Source:   "wineshipping", References: map[string]string{"order_id": "SO-77001"},
		}
		departed := tracking.Event{
			Carrier: "ups", TrackingNumber: trk, Status: tracking.InTransit, CarrierStatus: "I",
			Message:    "Departed from facility",
			OccurredAt: time.Date(2025, 11, 21, 8, 40, 0, 0, time.FixedZone("", -6*3600)), LocalTime: "2025-11-21T08:40:00-06:00",
			Timezone: "-06:00", TimezoneSource: tracking.ZoneFromOffset,
			Location: tracking.Location{City: "Dallas", State: "TX", Country: "US"},
			Source:   "carriyo", Late: true,
		}
		out := tracking.Event{
			Carrier: "ups", TrackingNumber: trk, Status: tracking.OutForDelivery, CarrierStatus: "OF",
			Message:    "Out for delivery today",
			OccurredAt: time.Date(2025, 11, 22, 7, 5, 0, 0, chicago), LocalTime: "2025-11-22 07:05",
			Timezone: "America/Chicago", TimezoneSource: tracking.ZoneFromState, TimezoneInferred: true,
			Location: tracking.Location{City: "Austin", State: "TX", PostalCode: "78701", Country: "US"},
			Source:   "wineshipping", EstimatedDelivery: "2025-11-22",
			References: map[string]string{"order_id": "SO-77001", "device_id": "DEV-BRW-1"},
		}
		// The in-transit scan arrives last, after the later one: late.
		h.seedEvents(t, label, out)
		h.seedEvents(t, departed)

		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/shipments/ups/"+trk), chromedp.WaitVisible(chromedp.CSS(".timeline")))
		head := tab.eval(t, `document.querySelector('.shipment-head').textContent`)
		for _, want := range []string{trk, "Out for delivery", "2025-11-22", "SO-77001", "DEV-BRW-1"} {
			if !strings.Contains(head, want) {
				t.Errorf("shipment header lacks %q: %q", want, head)
			}
		}
		type item struct {
			Status   string `json:"status"`
			Local    string `json:"local"`
			Zone     string `json:"zone"`
			Inferred bool   `json:"inferred"`
			Late     bool   `json:"late"`
			Code     string `json:"code"`
			Text     string `json:"text"`
		}
		items := evalJSON[[]item](t, tab, `[...document.querySelectorAll('.timeline > li')].map((li) => ({
			status: li.querySelector('.event-status .badge').textContent,
			local: li.querySelector('.event-local').textContent,
			zone: li.querySelector('.event-zone').textContent,
			inferred: !!li.querySelector('.tag-inferred'),
			late: !!li.querySelector('.tag-late'),
			code: li.querySelector('.event-code') ? li.querySelector('.event-code').textContent : '',
			text: li.textContent,
		}))`)
		want := []item{
			{Status: "Info received", Local: "2025-11-20 09:15", Zone: "America/New_York", Inferred: true, Code: "MP", Text: "wineshipping"},
			{Status: "In transit", Local: "2025-11-21T08:40:00-06:00", Zone: "-06:00", Late: true, Code: "I", Text: "carriyo"},
			{Status: "Out for delivery", Local: "2025-11-22 07:05", Zone: "America/Chicago", Inferred: true, Code: "OF", Text: "wineshipping"},
		}
		if len(items) != len(want) {
			t.Fatalf("timeline has %d events, want %d: %+v", len(items), len(want), items)
		}
		for i, w := range want {
			g := items[i]
			if g.Status != w.Status || g.Local != w.Local || g.Zone != w.Zone || g.Inferred != w.Inferred || g.Late != w.Late || g.Code != w.Code {
				t.Errorf("timeline[%d] = %+v\nwant %+v", i, g, w)
			}
			if !strings.Contains(g.Text, "Source"+w.Text) {
				t.Errorf("timeline[%d] does not show source %q: %q", i, w.Text, g.Text)
			}
		}
		// The zone inferred from the ZIP code says so in words.
		if !strings.Contains(items[0].Text, "zone inferred from the ZIP code") {
			t.Errorf("inferred zone not explained: %q", items[0].Text)
		}
		tab.shot(t, "shipment")
		tab.docShot(t, "console-shipment.png")

		// An unknown shipment is a not-found page, not an error.
		tab.do(t, chromedp.Navigate(h.URL+"/shipments/ups/1ZNOSUCHPARCEL"))
		tab.waitText(t, "main h1", "Not found")
		tab.assertClean(t, "status of 404")
	})

	t.Run("UntrustedText", func(t *testing.T) {
		// Provider payloads are untrusted: markup in them is shown as text,
		// never parsed into elements or run.
		const markup = `<img src=x onerror="document.title='xss'"><b>bold</b>`
		h.seedEvents(t, tracking.Event{
			Carrier: "dhl", TrackingNumber: "XSS0001", Status: tracking.Exception, CarrierStatus: markup,
			Substatus: markup, Message: markup, OccurredAt: time.Now().Add(-time.Hour), Source: "carriyo",
			LocalTime: markup, Timezone: "Europe/Berlin", TimezoneSource: tracking.ZoneFromCountry, TimezoneInferred: true,
			Location:   tracking.Location{City: markup, Country: "DE"},
			References: map[string]string{"order_id": "XSS-ORDER", "note": markup},
		})
		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		for _, p := range []struct{ path, ready string }{
			{"/shipments?q=XSS-ORDER", "table.shipments tbody a"},
			{"/shipments/dhl/XSS0001", ".timeline"},
		} {
			tab.do(t, chromedp.Navigate(h.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			tab.waitText(t, "main", `onerror="document.title='xss'"`)
			if n := tab.eval(t, `document.querySelectorAll('main img, main b').length`); n != "0" {
				t.Errorf("%s: %s elements built from provider text", p.path, n)
			}
		}
		if title := tab.eval(t, `document.title`); strings.Contains(title, "xss") {
			t.Errorf("provider text ran as script: title %q", title)
		}
		tab.assertClean(t)
	})

	t.Run("Redrive", func(t *testing.T) {
		body := []byte(`{"marker":"BROWSER-DL-1","note":"<script>document.title='xss'</script>"}`)
		seq := h.seedDeadletter(t, "normalizer", "carriyo", body, "carriyo: unmappable payload: no tracking number")
		keep := h.seedDeadletter(t, "normalizer", "carriyo", []byte(`{"marker":"BROWSER-DL-2"}`), "carriyo: unmappable payload")
		link := fmt.Sprintf(`a[href="/deadletters/%d"]`, seq)

		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/deadletters"), chromedp.WaitVisible(chromedp.CSS(link)))
		row := tab.eval(t, `document.querySelector('`+link+`').closest('tr').textContent`)
		for _, want := range []string{"normalizer", "carriyo", "no tracking number", "ago", "raw.carriyo"} {
			if !strings.Contains(row, want) {
				t.Errorf("dead-letter row lacks %q: %q", want, row)
			}
		}
		tab.shot(t, "deadletters")
		tab.do(t, chromedp.Click(chromedp.CSS(link)), chromedp.WaitVisible(chromedp.ID("redrive")))
		tab.waitText(t, "pre.body", "BROWSER-DL-1")
		tab.waitText(t, "pre.body", "<script>")
		tab.shot(t, "deadletter")

		tab.do(t, chromedp.Click(chromedp.ID("redrive")), chromedp.WaitVisible(chromedp.ID("confirm-redrive")))
		// The safe choice has focus: Enter now would cancel, not redrive.
		if got := tab.eval(t, `document.activeElement.textContent`); got != "Cancel" {
			t.Errorf("focus in the confirmation is on %q, want Cancel", got)
		}
		tab.shot(t, "deadletter-confirm")
		tab.do(t, chromedp.Click(chromedp.ID("confirm-redrive")), chromedp.WaitVisible(chromedp.ID("back-to-list")))
		tab.waitText(t, ".result", "Redriven")
		tab.waitText(t, ".result", "raw.carriyo")
		tab.do(t, chromedp.Click(chromedp.ID("back-to-list")), chromedp.WaitVisible(chromedp.ID("dl-results-title")),
			chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`a[href="/deadletters/%d"]`, keep))))
		if n := tab.eval(t, `document.querySelectorAll('`+link+`').length`); n != "0" {
			t.Errorf("redriven dead letter %d is still listed", seq)
		}
		if title := tab.eval(t, `document.title`); strings.Contains(title, "xss") {
			t.Errorf("a dead letter's body ran as script")
		}
		tab.assertClean(t)
	})

	t.Run("Live", func(t *testing.T) {
		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/live?carrier=ontrac"),
			chromedp.WaitVisible(chromedp.CSS(`#live-state[data-state="open"]`)))
		if got := tab.eval(t, `document.getElementById('live-filter').textContent`); got != "shipments.ontrac.>" {
			t.Errorf("subject filter %q, want shipments.ontrac.>", got)
		}
		// One event the filter excludes, then one it matches: the stream is
		// in order, so the first would have arrived first.
		h.seedEvents(t, tracking.Event{Carrier: "aramex", TrackingNumber: "LIVEOTHER1", Status: tracking.InTransit,
			CarrierStatus: "T", OccurredAt: time.Now().Add(-time.Minute), Source: "carriyo"})
		start := time.Now()
		h.seedEvents(t, tracking.Event{Carrier: "ontrac", TrackingNumber: "LIVE0001", Status: tracking.FailedAttempt,
			CarrierStatus: "NA", Message: "No one available", OccurredAt: time.Now().Add(-time.Minute), Source: "carriyo",
			Location: tracking.Location{City: "Fresno", State: "CA", Country: "US"}})
		tab.waitText(t, "#live-events", "LIVE0001")
		if took := time.Since(start); took > liveWithin {
			t.Errorf("event reached the Live page after %v, want within %v", took, liveWithin)
		}
		if text := tab.eval(t, `document.getElementById('live-events').textContent`); strings.Contains(text, "LIVEOTHER1") {
			t.Errorf("the carrier filter let another carrier's event through: %q", text)
		}
		tab.shot(t, "live")

		// Filtering by status builds the subject filter and reconnects.
		tab.do(t, chromedp.Evaluate[chromedp.Void](`document.getElementById('live-carrier').value = ''; document.getElementById('live-status').value = 'delivered'`),
			chromedp.Click(chromedp.CSS(`form button[type=submit]`)))
		tab.waitText(t, "#live-state", "shipments.*.*.delivered")
		tab.do(t, chromedp.WaitVisible(chromedp.CSS(`#live-state[data-state="open"]`)))
		h.seedEvents(t, tracking.Event{Carrier: "dhl", TrackingNumber: "LIVE0002", Status: tracking.Delivered,
			CarrierStatus: "OK", OccurredAt: time.Now(), Source: "carriyo"})
		tab.waitText(t, "#live-events", "LIVE0002")
		tab.assertClean(t)
	})

	t.Run("LiveWebhook", func(t *testing.T) {
		// Issue 9: a real webhook, POSTed to a real ingress and normalized
		// by a real normalizer, is on the Live page within liveWithin of
		// the ingress's 200.
		p := startPipeline(t, h)
		body, err := os.ReadFile(filepath.Join("..", "..", "pkg", "providers", "carriyo", "testdata", "seed-delivered.json"))
		if err != nil {
			t.Fatal(err)
		}
		// The seed's post_shipping_info.tracking_no; its carrier is DHL.
		const trk = "DHL-9123-7700-1234"
		eventID := newUUID()
		tap := watchStages(t, h, eventID, "dhl", trk, tracking.Delivered)

		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/live?carrier=dhl"),
			chromedp.WaitVisible(chromedp.CSS(`#live-state[data-state="open"]`)))
		// The page notes, by its own clock (the machine's, as the test's),
		// when the row of the delivered event is added: the test's polling
		// adds nothing to the time measured.
		tab.do(t, chromedp.Evaluate[chromedp.Void](`window.__liveRowAt = 0;
			new MutationObserver(() => {
				if (!window.__liveRowAt && [...document.querySelectorAll('#live-events li')].some((li) =>
					li.textContent.includes(`+strconv.Quote(trk)+`) && li.querySelector('.badge')?.textContent === 'Delivered')) {
					window.__liveRowAt = Date.now();
				}
			}).observe(document.getElementById('main'), { childList: true, subtree: true, characterData: true });`))

		req, err := http.NewRequest(http.MethodPost, p.ingressURL+"/webhooks/carriyo", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-API-Key", browserWebhookKey)
		req.Header.Set("event-id", eventID)
		req.Header.Set("trigger", "delivered")
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		ok200 := time.Now() // Do returns once the status line and headers are in
		if err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var accepted struct {
			Duplicate bool `json:"duplicate"`
		}
		if resp.StatusCode != http.StatusOK || json.Unmarshal(answer, &accepted) != nil || accepted.Duplicate {
			t.Fatalf("POST /webhooks/carriyo: %s %s: the webhook did not reach RAW as a new message", resp.Status, answer)
		}

		waitErr := tab.pollJS(`() => window.__liveRowAt > 0`, waitTimeout)
		seen := time.Now()
		st := tap.stages(t, tab)
		if waitErr != nil {
			tab.failShot(t)
			t.Fatalf("webhook's delivered event not on the Live page %v after the ingress's 200: %s\n(%v)",
				seen.Sub(ok200).Round(time.Millisecond), st.report(ok200), waitErr)
		}
		onPage := time.UnixMilli(int64(tab.evalFloat(t, `window.__liveRowAt`)))
		st.page = onPage
		took := onPage.Sub(ok200)
		t.Logf("webhook's event on the Live page %v after the ingress's 200 (seen by the test after %v): %s",
			took.Round(time.Millisecond), seen.Sub(ok200).Round(time.Millisecond), st.report(ok200))
		if took > liveWithin {
			t.Errorf("webhook's event reached the Live page %v after the ingress's 200, want within %v: %s",
				took.Round(time.Millisecond), liveWithin, st.report(ok200))
		}
		tab.shot(t, "live-webhook")
		tab.assertClean(t)
	})

	t.Run("Keyboard", func(t *testing.T) {
		h.seedEvents(t, tracking.Event{Carrier: "fedex", TrackingNumber: "794600000001", Status: tracking.InTransit,
			CarrierStatus: "IT", OccurredAt: time.Now().Add(-time.Hour), Source: "swiftpod",
			References: map[string]string{"order_id": "KEY-ORDER-9"}})
		tab := newBrowserTab(t, browser, h)
		tab.login(t, h)
		tab.do(t, chromedp.Navigate(h.URL+"/shipments"), chromedp.WaitVisible(chromedp.ID("q")))
		// The first Tab reaches the skip link, which is then on screen.
		tab.do(t, chromedp.KeyEvent(kb.Tab))
		if got := tab.eval(t, `document.activeElement.className`); got != "skip-link" {
			t.Fatalf("first Tab focuses %q, want the skip link", got)
		}
		if got := tab.eval(t, `document.activeElement.getBoundingClientRect().top >= 0`); got != "true" {
			t.Errorf("focused skip link is off screen")
		}
		// Tab on until the search box; every stop shows a focus ring.
		var path []string
		for i := 0; ; i++ {
			if i == 15 {
				t.Fatalf("15 Tabs did not reach the search box; focus went %v", path)
			}
			tab.do(t, chromedp.KeyEvent(kb.Tab))
			id := tab.eval(t, `document.activeElement.id || document.activeElement.textContent.trim()`)
			path = append(path, id)
			if ring := tab.eval(t, `getComputedStyle(document.activeElement).outlineStyle`); ring == "none" {
				t.Errorf("%q has no visible focus ring", id)
			}
			if id == "q" {
				break
			}
		}
		tab.do(t, chromedp.KeyEvent("KEY-ORDER-9"), chromedp.KeyEvent(kb.Enter))
		tab.waitText(t, "#results-title", "Shipments found (1)")
		tab.do(t, chromedp.WaitVisible(chromedp.CSS(`table.shipments a[href="/shipments/fedex/794600000001"]`)))
		if got := tab.eval(t, `location.search`); got != "?q=KEY-ORDER-9" {
			t.Errorf("Enter in the search box searched %q, want ?q=KEY-ORDER-9", got)
		}
		if got := tab.eval(t, `document.activeElement.id`); got != "q" {
			t.Errorf("after searching, focus moved to %q; want it left in the search box", got)
		}
		// Enter on the result link opens the shipment, focus on its heading.
		tab.do(t, chromedp.Focus(chromedp.CSS(`table.shipments a[href="/shipments/fedex/794600000001"]`)), chromedp.KeyEvent(kb.Enter))
		tab.waitText(t, "main h1", "794600000001")
		tab.waitJS(t, `() => document.activeElement === document.querySelector('main h1')`)
		tab.assertClean(t)
	})

	t.Run("Phone", func(t *testing.T) {
		const trk = "LONGREF0000000000000000000000000000000001"
		h.seedEvents(t, tracking.Event{Carrier: "usps", TrackingNumber: trk, Status: tracking.Exception, Substatus: "address_issue",
			CarrierStatus: "07", Message: strings.Repeat("Undeliverable as addressed, no such number. ", 4),
			OccurredAt: time.Now().Add(-2 * time.Hour), Source: "tenovi", LocalTime: "2025-11-23 10:00", Timezone: "America/Los_Angeles",
			TimezoneSource: tracking.ZoneFromZIP, TimezoneInferred: true,
			References: map[string]string{"patient_reference_id": "PATIENT-" + strings.Repeat("X", 60), "order_id": "PHONE-1"}})
		seq := h.seedDeadletter(t, "normalizer", "swiftpod", []byte(`{"blob":"`+strings.Repeat("A", 400)+`"}`),
			"swiftpod: "+strings.Repeat("unmappable-", 20))

		tab := newBrowserTab(t, browser, h)
		tab.do(t, chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch))
		tab.login(t, h)
		pages := []struct{ name, path, ready string }{
			{"overview", "/", ".tiles"},
			{"shipments", "/shipments?q=PHONE-1", "table.shipments tbody a"},
			{"shipment", "/shipments/usps/" + trk, ".timeline"},
			{"deadletters", "/deadletters", fmt.Sprintf(`a[href="/deadletters/%d"]`, seq)},
			{"deadletter", fmt.Sprintf("/deadletters/%d", seq), "#redrive"},
			{"live", "/live", `#live-state[data-state="open"]`},
		}
		for _, p := range pages {
			tab.do(t, chromedp.Navigate(h.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
			if got := tab.eval(t, `innerWidth`); got != "375" {
				t.Fatalf("viewport is %s px wide, want 375", got)
			}
			if got := tab.eval(t, `document.documentElement.scrollWidth`); got != "375" {
				t.Errorf("%s: page is %s px wide in a 375 px viewport: it scrolls sideways", p.name, got)
			}
			tab.shot(t, "phone-"+p.name)
		}
		tab.assertClean(t)
	})
}

// startBrowser starts one headless Chromium for the test; subtests open
// their own tabs in it. Without Chromium it fails: the browser checks are
// part of make test (.ci/run installs the package when missing).
func startBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("browser tests need Debian's chromium at %s (apt-get install -y chromium): %v", chromiumPath, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox, // the tests run as root in CI containers
		chromedp.WindowSize(1280, 900),
		chromedp.Flag("lang", "en-US"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The browser lives as long as the context of its first Do, so that one
	// has no deadline; a start that hangs is cut off by the timer instead.
	timer := time.AfterFunc(60*time.Second, cancel)
	defer timer.Stop()
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	return ctx
}

// tab is one browser tab in its own browser context (its own cookies), and
// what went wrong in it.
type browserTab struct {
	ctx context.Context
	mu  sync.Mutex
	bad []string
	sse []tabSSE // what the tab's EventSources received
}

// tabSSE is one Server-Sent Event a tab received, and when.
type tabSSE struct {
	at             time.Time
	name, id, data string
}

func newBrowserTab(t *testing.T, browser context.Context, h *harness) *browserTab {
	t.Helper()
	tb := &browserTab{}
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext(), chromedp.WithListener(tb.listen))
	ctx, cancelTimeout := context.WithTimeout(ctx, tabTimeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
	})
	tb.ctx = ctx
	tb.do(t) // opens the tab
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: browserCSPHook}); err != nil {
		t.Fatalf("install CSP hook: %v", err)
	}
	return tb
}

// listen records exceptions, console errors and warnings, and browser log
// errors. It runs in the tab's event loop: it only appends.
func (tb *browserTab) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *network.EventEventSourceMessageReceived:
		f := tabSSE{at: time.Now(), name: e.EventName, id: e.EventID, data: e.Data}
		tb.mu.Lock()
		tb.sse = append(tb.sse, f)
		tb.mu.Unlock()
		return
	case *runtime.EventExceptionThrown:
		msg = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeWarning && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		parts := make([]string, 0, len(e.Args))
		for _, a := range e.Args {
			if len(a.Value) > 0 {
				parts = append(parts, string(a.Value))
			} else {
				parts = append(parts, a.Description)
			}
		}
		msg = fmt.Sprintf("console.%s: %s", e.Type, strings.Join(parts, " "))
	case *log.EventEntryAdded:
		if e.Entry.Level != log.EntryLevelError && e.Entry.Level != log.EntryLevelWarning {
			return
		}
		msg = fmt.Sprintf("%s %s: %s %s", e.Entry.Source, e.Entry.Level, e.Entry.Text, e.Entry.URL)
	default:
		return
	}
	tb.mu.Lock()
	tb.bad = append(tb.bad, msg)
	tb.mu.Unlock()
}

// assertClean fails the test on anything the tab recorded, and on CSP
// violations in the current document. A 401 is how the page learns it must
// log in, so "status of 401" network entries are expected; a test may
// allow more (a 404 it provoked).
func (tb *browserTab) assertClean(t *testing.T, allowed ...string) {
	t.Helper()
	allowed = append(allowed, "status of 401")
	tb.mu.Lock()
	bad := append([]string(nil), tb.bad...)
	tb.mu.Unlock()
	for _, m := range bad {
		ok := false
		for _, a := range allowed {
			if strings.HasPrefix(m, "network") && strings.Contains(m, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("browser: %s", m)
		}
	}
	for _, v := range tb.evalStrings(t, `window.__cspViolations || []`) {
		t.Errorf("CSP violation: %s", v)
	}
	// A missing field must not print as "undefined" or "null".
	if got := tb.eval(t, `(document.querySelector('main').innerText.match(/\b(undefined|null|NaN)\b|\[object Object\]/) || [''])[0]`); got != "" {
		t.Errorf("the page shows %q", got)
	}
}

func (tb *browserTab) do(t *testing.T, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, steps...); err != nil {
		tb.failShot(t)
		t.Fatalf("browser: %v", err)
	}
}

// eval runs a JavaScript expression and returns its value as text (JSON
// for anything but a string).
func (tb *browserTab) eval(t *testing.T, expr string) string {
	t.Helper()
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]byte](expr))
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (tb *browserTab) evalStrings(t *testing.T, expr string) []string {
	t.Helper()
	return evalJSON[[]string](t, tb, expr)
}

func evalJSON[T any](t *testing.T, tb *browserTab, expr string) T {
	t.Helper()
	var v T
	raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[[]byte](expr))
	if err == nil {
		err = json.Unmarshal(raw, &v)
	}
	if err != nil {
		t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript function returns a truthy value.
func (tb *browserTab) waitJS(t *testing.T, fn string, args ...any) {
	t.Helper()
	if err := tb.pollJS(fn, waitTimeout, args...); err != nil {
		tb.failShot(t)
		t.Fatalf("waiting for %s %v: %v", fn, args, err)
	}
}

// pollJS waits up to timeout until a JavaScript function returns a truthy
// value, and says why not.
func (tb *browserTab) pollJS(fn string, timeout time.Duration, args ...any) error {
	_, err := chromedp.Run(tb.ctx, chromedp.PollFunction[chromedp.Void](fn,
		chromedp.WithPollingArgs(args...), chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(25*time.Millisecond)))
	return err
}

// sseFrames is what the tab's EventSources received so far.
func (tb *browserTab) sseFrames() []tabSSE {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]tabSSE(nil), tb.sse...)
}

// evalFloat runs a JavaScript expression whose value is a number.
func (tb *browserTab) evalFloat(t *testing.T, expr string) float64 {
	t.Helper()
	return evalJSON[float64](t, tb, expr)
}

// waitText waits until the element sel contains text.
func (tb *browserTab) waitText(t *testing.T, sel, text string) {
	t.Helper()
	_, err := chromedp.Run(tb.ctx, chromedp.PollFunction[chromedp.Void](
		`(sel, text) => { const el = document.querySelector(sel); return !!el && el.textContent.includes(text); }`,
		chromedp.WithPollingArgs(sel, text), chromedp.WithPollingTimeout(waitTimeout), chromedp.WithPollingInterval(25*time.Millisecond)))
	if err != nil {
		got := ""
		if raw, err := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {}).textContent || '(no element)'`)); err == nil {
			got = raw
		}
		tb.failShot(t)
		t.Fatalf("waiting for %q in %s: %v; it holds %q", text, sel, err, got)
	}
}

// clearField empties an input as a user's select-all and delete would
// (chromedp.Clear only resets the value attribute, not what was typed).
func clearField(id string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => { const el = document.getElementById(` + strconv.Quote(id) + `);
		el.value = ''; el.dispatchEvent(new Event('input', { bubbles: true })); })()`)
}

// login logs the tab in through the form.
func (tb *browserTab) login(t *testing.T, h *harness) {
	t.Helper()
	tb.do(t, chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), h.Token+kb.Enter), chromedp.WaitVisible(chromedp.ID("logout")))
}

// shot saves a full-page screenshot in the test's artifact directory.
func (tb *browserTab) shot(t *testing.T, name string) {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(t.ArtifactDir(), name+".png"), buf, 0o644); err != nil {
		t.Error(err)
	}
}

// docShot writes a screenshot for the README into docs/, only when
// WAYBILL_SCREENSHOTS=1: a normal test run changes no tracked file.
func (tb *browserTab) docShot(t *testing.T, name string) {
	t.Helper()
	if os.Getenv("WAYBILL_SCREENSHOTS") != "1" {
		return
	}
	buf, err := chromedp.Run(tb.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join("..", "..", "docs", name)
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
}

// failShot keeps what the page looked like when a wait failed.
func (tb *browserTab) failShot(t *testing.T) {
	if tb.ctx.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	if buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		path := filepath.Join(t.ArtifactDir(), "failure.png")
		if os.WriteFile(path, buf, 0o644) == nil {
			t.Logf("page at failure: %s", path)
		}
	}
}

// getJSON reads an API answer with the bearer token.
func bearerGetJSON(t *testing.T, h *harness, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, h.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+h.Token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// browserStatusLabel is the page's label of a status (format.js statusLabel).
func browserStatusLabel(s string) string {
	t := strings.ReplaceAll(s, "_", " ")
	if t == "" {
		return "Unknown"
	}
	return strings.ToUpper(t[:1]) + t[1:]
}

func hasString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// browserWebhookKey is the Carriyo API key the test ingress accepts.
const browserWebhookKey = "browser-test-carriyo-key"

// pipeline is a real ingress and a real normalizer running in this process
// against the harness's NATS (startPipeline).
type pipeline struct {
	ingressURL string
}

// startPipeline runs a real ingress (Carriyo enabled, header auth) and a
// real normalizer against the harness's NATS, in this process, and returns
// once the ingress accepts requests and the normalizer is pulling from RAW
// and from every CANDIDATES partition. Nothing listens on a port chosen
// ahead and freed again (which another process may take meanwhile): the
// ingress serves on a listener of the test's, the normalizer's operational
// endpoints on port 0. When t ends both stop, and the test fails unless
// their Run returned and none of their goroutines is left; their logs are
// printed if t failed.
//
// The two start one after the other. Each makes sure of the streams first
// (streams.Ensure: an update of every stream), and nats-server v2.15.2 has a
// data race between a stream update and a consumer being created on the
// same stream (fileStore.UpdateConfig writes fs.cfg under fs.mu while
// fileStore.ConsumerStore reads fs.cfg.Name without it), which -race reports
// and fails the test on: started together, the ingress's stream updates
// sometimes met the normalizer creating its consumers.
func startPipeline(t *testing.T, h *harness) *pipeline {
	t.Helper()
	logs := &syncBuffer{}
	common := map[string]string{"NATS_URL": h.cfg.NATSURL, "WAYBILL_SHUTDOWN_TIMEOUT": "5s", "HTTP_ADDR": "127.0.0.1:0"}
	envOf := func(vars map[string]string) *service.Env {
		m := map[string]string{}
		for k, v := range common {
			m[k] = v
		}
		for k, v := range vars {
			m[k] = v
		}
		return service.EnvFrom(m)
	}
	inEnv := envOf(map[string]string{ingress.AuthVar("carriyo"): "header:X-API-Key:" + browserWebhookKey})
	inCfg := ingress.LoadConfig(inEnv)
	if err := inEnv.Err(); err != nil {
		t.Fatalf("ingress config: %v", err)
	}
	// A short reorder window, and no handover grace: a fresh normalizer
	// holds a partition's events for the grace after acquiring it (reorder
	// window + 5s by default), which alone would exceed the 2s. The ack
	// wait must exceed the window by 5s (LoadConfig checks it).
	normEnv := envOf(map[string]string{
		"NORMALIZER_REORDER_WINDOW": "200ms", "NORMALIZER_HANDOVER_GRACE": "0s", "NORMALIZER_ACK_WAIT": "10s"})
	normCfg := normalizer.LoadConfig(normEnv)
	if err := normEnv.Err(); err != nil {
		t.Fatalf("normalizer config: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	type stage struct {
		name string
		done chan struct{}
		err  error // Run's result, readable once done is closed
	}
	var started []*stage
	start := func(name string, run func(zerolog.Logger) error) {
		s := &stage{name: name, done: make(chan struct{})}
		started = append(started, s)
		log := zerolog.New(logs).With().Timestamp().Str("service", name).Logger()
		go func() {
			defer close(s.done)
			s.err = run(log)
		}()
	}
	t.Cleanup(func() {
		cancel()
		for _, s := range started {
			select {
			case <-s.done:
				if s.err != nil && !errors.Is(s.err, context.Canceled) {
					t.Errorf("%s: %v", s.name, s.err)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%s did not stop within 30s", s.name)
			}
		}
		if left := pipelineGoroutines(5 * time.Second); left != "" {
			t.Errorf("goroutines of the ingress or normalizer left after they stopped:\n%s", left)
		}
		if t.Failed() {
			t.Logf("ingress and normalizer logs:\n%s", logs.String())
		}
	})
	// waitUntil polls ready until it reports nil; it fails the test at
	// once if a stage stopped, and after 30s.
	waitUntil := func(what string, ready func() error) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := ready()
			if err == nil {
				return
			}
			for _, s := range started {
				select {
				case <-s.done:
					t.Fatalf("%s stopped before %s: %v", s.name, what, s.err)
				default:
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 30s: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	p := &pipeline{ingressURL: "http://" + ln.Addr().String()}
	start("ingress", func(log zerolog.Logger) error { return runIngress(ctx, inCfg, log, ln) })
	client := &http.Client{Timeout: 2 * time.Second}
	waitUntil("the ingress was ready", func() error {
		resp, err := client.Get(p.ingressURL + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
		return nil
	})
	client.CloseIdleConnections()

	start("normalizer", func(log zerolog.Logger) error { return normalizer.Run(ctx, normCfg, log, service.NewOps()) })
	// The normalizer is ready for the webhook when its pull requests wait
	// on RAW and on every partition of CANDIDATES: nothing it has to do
	// first (connect, create its consumers, start pulling) counts against
	// the time measured.
	waitUntil("the normalizer pulled from RAW and every CANDIDATES partition", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n, err := streams.Partitions(ctx, h.JS)
		if err != nil {
			return err
		}
		consumers := map[string]string{normalizer.MapperConsumer: streams.Raw}
		for i := 0; i < n; i++ {
			consumers[normalizer.OrderConsumer(i)] = streams.Candidates
		}
		for name, stream := range consumers {
			c, err := h.JS.Consumer(ctx, stream, name)
			if err != nil {
				return fmt.Errorf("consumer %s: %w", name, err)
			}
			if info, err := c.Info(ctx); err != nil {
				return fmt.Errorf("consumer %s: %w", name, err)
			} else if info.NumWaiting == 0 {
				return fmt.Errorf("consumer %s: no pull request waiting", name)
			}
		}
		return nil
	})
	return p
}

// pipelineGoroutines waits up to grace for the goroutines running code of
// the ingress or normalizer packages to end, and returns the stacks of
// those that did not.
func pipelineGoroutines(grace time.Duration) string {
	deadline := time.Now().Add(grace)
	for {
		buf := make([]byte, 1<<20)
		for {
			n := goruntime.Stack(buf, true)
			if n < len(buf) {
				buf = buf[:n]
				break
			}
			buf = make([]byte, 2*len(buf))
		}
		var left []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "waybill/services/ingress.") || strings.Contains(g, "waybill/services/normalizer.") {
				left = append(left, g)
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			return strings.Join(left, "\n\n")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runIngress is ingress.Run on a listener of the caller's.
func runIngress(ctx context.Context, cfg ingress.Config, log zerolog.Logger, ln net.Listener) error {
	defer ln.Close()
	nc, js, err := streams.Connect(cfg.NATSURL, "waybill-ingress", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	ops := service.NewOps()
	ops.AddProbe("nats", service.NATSProbe(nc, js))
	if err := streams.EnsureWithRetry(ctx, js, cfg.Streams, log); err != nil {
		return err
	}
	in, err := ingress.New(cfg, nc, log, ops)
	if err != nil {
		return err
	}
	err = in.Serve(ctx, ln)
	_ = nc.FlushTimeout(5 * time.Second)
	return err
}

// stageTimes is when one webhook's event passed each stage on its way to
// the Live page; zero where it has not (yet).
type stageTimes struct {
	raw        time.Time // published to RAW (by the ingress)
	candidates time.Time // published to CANDIDATES (by the normalizer's mapping)
	shipments  time.Time // published to SHIPMENTS (by its ordering)
	stored     time.Time // stored in SHIPMENTS (not dropped as a duplicate)
	sse        time.Time // received by the page's EventSource
	page       time.Time // its row added to the Live page
}

// report says when the event passed each stage, relative to t0, and
// names the first stage it did not reach. (The SSE time is when the
// browser told the test, which may be a little after the page's own.)
func (s stageTimes) report(t0 time.Time) string {
	stages := []struct {
		name string
		at   time.Time
	}{
		{"RAW", s.raw}, {"CANDIDATES", s.candidates}, {"SHIPMENTS", s.shipments}, {"SHIPMENTS stored", s.stored},
		{"SSE (the page's EventSource)", s.sse}, {"the page", s.page},
	}
	var parts []string
	for i, st := range stages {
		if !st.at.IsZero() {
			parts = append(parts, fmt.Sprintf("%s %+dms", st.name, st.at.Sub(t0).Milliseconds()))
			continue
		}
		later := false
		for _, next := range stages[i+1:] {
			later = later || !next.at.IsZero()
		}
		if later { // seen further on: only the watch of this stage missed it
			parts = append(parts, st.name+" not seen")
			continue
		}
		parts = append(parts, "did not reach "+st.name)
		break
	}
	return strings.Join(parts, ", ")
}

// stageTap watches one webhook's event on its way through the streams: a
// plain NATS subscription sees every message published to RAW, CANDIDATES
// and SHIPMENTS as it is published.
type stageTap struct {
	h                   *harness
	eventID, trk        string
	subject             string // the event's SHIPMENTS subject
	mu                  sync.Mutex
	raw, cand, shipment time.Time
}

// watchStages starts watching for the event of status that the webhook
// with eventID (its event-id header) maps to for the shipment trk.
func watchStages(t *testing.T, h *harness, eventID, carrier, trk string, status tracking.Status) *stageTap {
	t.Helper()
	nc, err := nats.Connect(h.cfg.NATSURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	tap := &stageTap{h: h, eventID: eventID, trk: trk, subject: tracking.Subject(carrier, trk, status)}
	ours := func(m *nats.Msg) bool {
		if strings.HasPrefix(m.Subject, "raw.") {
			return m.Header.Get("ce-id") == eventID // the webhook, as received
		}
		var ev tracking.Event // a candidate or normalized event
		return json.Unmarshal(m.Data, &ev) == nil && ev.RawEventID == eventID && ev.TrackingNumber == trk && ev.Status == status
	}
	for subject, at := range map[string]*time.Time{"raw.>": &tap.raw, "candidates.>": &tap.cand, "shipments.>": &tap.shipment} {
		_, err := nc.Subscribe(subject, func(m *nats.Msg) {
			now := time.Now()
			if !ours(m) {
				return
			}
			tap.mu.Lock()
			if at.IsZero() {
				*at = now
			}
			tap.mu.Unlock()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return tap
}

// stages is what the tap saw, whether SHIPMENTS stored the event, and when
// the tab's EventSource received it.
func (tap *stageTap) stages(t *testing.T, tab *browserTab) stageTimes {
	t.Helper()
	tap.mu.Lock()
	st := stageTimes{raw: tap.raw, candidates: tap.cand, shipments: tap.shipment}
	tap.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if str, err := tap.h.JS.Stream(ctx, streams.Shipments); err == nil {
		if m, err := str.GetLastMsgForSubject(ctx, tap.subject); err == nil {
			var ev tracking.Event
			if json.Unmarshal(m.Data, &ev) == nil && ev.RawEventID == tap.eventID {
				st.stored = m.Time
			}
		}
	}
	for _, f := range tab.sseFrames() {
		var ev tracking.Event
		if f.name == liveEventType && json.Unmarshal([]byte(f.data), &ev) == nil && ev.RawEventID == tap.eventID &&
			tracking.Subject(ev.Carrier, ev.TrackingNumber, ev.Status) == tap.subject {
			st.sse = f.at
			break
		}
	}
	return st
}

// newUUID is a random RFC 4122 version 4 UUID, a fresh webhook event id.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
