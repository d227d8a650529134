package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/waybill-dev/waybill/pkg/lookup"
)

// demoWebhook is one seed webhook the demo posts.
type demoWebhook struct {
	source, fixture, note string
}

// The providers' own example payloads (pkg/providers/<source>/testdata),
// in an order that shows what waybill does with real traffic.
var demoWebhooks = []demoWebhook{
	{"wineshipping", "seed-tracking-update", "AfterShip-shaped update with 12 checkpoints"},
	{"wineshipping", "seed-tracking-update", "the same webhook again: a provider retry (duplicate)"},
	{"carriyo", "outoforder-1-delivered-first", "Carriyo 'delivered' arriving first"},
	{"carriyo", "outoforder-2-out-for-delivery-late", "then its 'out_for_delivery' (late)"},
	{"carriyo", "seed-delivered", "Carriyo seed shipment"},
	{"swiftpod", "seed-tracking-number", "SwiftPOD tracking notification (two parcels)"},
	{"tenovi", "seed-shipped-usps", "Tenovi 'Shipped' with a USPS link: the USPS poller takes it from here"},
}

// cmdDemo is `waybill demo`: post the seed webhooks to a running waybill
// and print the resulting shipments.
func cmdDemo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	ingressURL := fs.String("ingress", baseURL("ingress"), "the ingress's base URL")
	fixtures := fs.String("fixtures", filepath.Join("pkg", "providers"), "where the providers' testdata folders are (run from the repository)")
	dataDir := fs.String("data", envOr("WAYBILL_DATA_DIR", "var"), "the data directory of `waybill run` (for its development credentials)")
	wait := fs.Duration("wait", 20*time.Second, "how long to wait for the projection")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: waybill demo [flags]\n\nPosts the providers' seed webhooks (incl. an out-of-order Carriyo pair and a repeated\nWineshipping retry) to a running waybill, then prints the resulting shipments.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	auth := map[string]string{}
	if creds, err := os.ReadFile(filepath.Join(*dataDir, "dev-credentials.json")); err == nil {
		var c devCredentials
		if err := json.Unmarshal(creds, &c); err == nil {
			auth = c.env()
		}
	}
	for _, s := range []string{"wineshipping", "carriyo", "swiftpod", "tenovi"} {
		if v := os.Getenv("WAYBILL_AUTH_" + strings.ToUpper(s)); v != "" {
			auth["WAYBILL_AUTH_"+strings.ToUpper(s)] = v
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	var keys []string
	for _, w := range demoWebhooks {
		body, err := os.ReadFile(filepath.Join(*fixtures, w.source, "testdata", w.fixture+".json"))
		if err != nil {
			return fmt.Errorf("%v (run waybill demo from the repository, or pass --fixtures)", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, *ingressURL+"/webhooks/"+w.source, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		if hb, err := os.ReadFile(filepath.Join(*fixtures, w.source, "testdata", w.fixture+".headers.json")); err == nil {
			var hs map[string]string
			if err := json.Unmarshal(hb, &hs); err == nil {
				for k, v := range hs {
					req.Header.Set(k, v)
				}
			}
		}
		if err := authenticate(req, auth["WAYBILL_AUTH_"+strings.ToUpper(w.source)], body); err != nil {
			return fmt.Errorf("%s: %w", w.source, err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("is waybill running? %w", err)
		}
		answer, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("POST /webhooks/%-13s %d %s  # %s\n", w.source, resp.StatusCode, strings.TrimSpace(string(answer)), w.note)
		keys = append(keys, demoKeys(w.source, body)...)
	}
	fmt.Println()

	db, err := connectDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	list, err := waitForShipments(ctx, db, keys, *wait)
	if err != nil {
		return err
	}
	printShipments(os.Stdout, list)
	fmt.Println("\nDetails: waybill shipment <key>; live events: waybill tail")
	return nil
}

// authenticate adds what a WAYBILL_AUTH_<SOURCE> spec asks of a sender.
func authenticate(req *http.Request, spec string, body []byte) error {
	scheme, rest, _ := strings.Cut(spec, ":")
	switch scheme {
	case "header":
		name, value, _ := strings.Cut(rest, ":")
		req.Header.Set(name, value)
	case "bearer":
		req.Header.Set("Authorization", "Bearer "+rest)
	case "hmac-sha256":
		name, secret, _ := strings.Cut(rest, ":")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		req.Header.Set(name, base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	case "":
		return fmt.Errorf("no credentials: start waybill with `waybill run` (it generates them) or set WAYBILL_AUTH_<SOURCE>")
	default:
		return fmt.Errorf("the demo cannot sign for scheme %q", scheme)
	}
	return nil
}

// demoKeys names the shipments a seed creates, to wait for them.
func demoKeys(source string, body []byte) []string {
	var v struct {
		Msg struct {
			TrackingNumber string `json:"tracking_number"`
		} `json:"msg"`
		PostShippingInfo struct {
			TrackingNo string `json:"tracking_no"`
		} `json:"post_shipping_info"`
		CarrierAccount struct{ Carrier string } `json:"carrier_account"`
	}
	_ = json.Unmarshal(body, &v)
	switch source {
	case "wineshipping":
		return []string{"ups:" + strings.ToUpper(v.Msg.TrackingNumber)}
	case "carriyo":
		return []string{strings.ToLower(v.CarrierAccount.Carrier) + ":" + strings.ToUpper(v.PostShippingInfo.TrackingNo)}
	}
	return nil
}

func waitForShipments(ctx context.Context, db *pgxpool.Pool, keys []string, wait time.Duration) ([]lookup.Shipment, error) {
	deadline := time.Now().Add(wait)
	r := lookup.New(db)
	for {
		list, err := listShipments(ctx, r, lookup.Filter{}, 50)
		if err != nil {
			return nil, err
		}
		found := map[string]bool{}
		for _, s := range list {
			found[s.ShipmentKey] = true
		}
		missing := 0
		for _, k := range keys {
			if !found[k] {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) {
			return list, nil
		}
		select {
		case <-ctx.Done():
			return list, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}
