package webhookload

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// marshal encodes v as providers send it: no HTML escaping.
func marshal(v any) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // the generator's own types always encode
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func str(s string) *string { return &s }

// ---- Wineshipping: AfterShip tracking webhooks ----------------------------

type wsBody struct {
	Event              string `json:"event"`
	EventID            string `json:"event_id"`
	IsTrackingFirstTag bool   `json:"is_tracking_first_tag"`
	Msg                wsMsg  `json:"msg"`
	TS                 int64  `json:"ts"`
}

type wsEstimate struct {
	EstimatedDeliveryDate    string  `json:"estimated_delivery_date"`
	ConfidenceScore          *string `json:"confidence_score"`
	EstimatedDeliveryDateMin string  `json:"estimated_delivery_date_min"`
	EstimatedDeliveryDateMax string  `json:"estimated_delivery_date_max"`
}

type wsLatest struct {
	Source      string  `json:"source"`
	Datetime    string  `json:"datetime"`
	Type        string  `json:"type"`
	DatetimeMin *string `json:"datetime_min"`
	DatetimeMax *string `json:"datetime_max"`
}

type wsCheckpoint struct {
	CheckpointTime string   `json:"checkpoint_time"`
	City           *string  `json:"city"`
	Coordinates    []string `json:"coordinates"`
	CountryISO3    string   `json:"country_iso3"`
	CountryName    string   `json:"country_name"`
	CreatedAt      string   `json:"created_at"`
	Location       string   `json:"location"`
	Message        string   `json:"message"`
	RawTag         string   `json:"raw_tag"`
	Slug           string   `json:"slug"`
	State          *string  `json:"state"`
	Subtag         string   `json:"subtag"`
	SubtagMessage  string   `json:"subtag_message"`
	Tag            string   `json:"tag"`
	Zip            *string  `json:"zip"`
}

type wsCustomFields struct {
	Contents             string `json:"contents"`
	ContentsProductUnits string `json:"contents_product_units"`
	DateInput            string `json:"date_input"`
	DCCID                string `json:"dc_cid"`
	DCOID                string `json:"dc_oid"`
	DCPool               string `json:"dc_pool"`
	DCShipConfirm        string `json:"dc_ship_confirm"`
	DCVer                string `json:"dc_ver"`
	FinalMile            string `json:"final_mile"`
	OMSContents          string `json:"oms_contents"`
	RegulatoryAttributes string `json:"regulatory_attributes"`
	SellerName           string `json:"seller_name"`
	SellerNumber         string `json:"seller_number"`
	ShipfromDC           string `json:"shipfrom_dc"`
	SpecialAttributes    string `json:"special_attributes"`
	TransmissionID       string `json:"transmission_id"`
	TransportZone        string `json:"transport_zone"`
	Tref                 string `json:"tref"`
}

type wsMsg struct {
	Active                bool           `json:"active"`
	AftershipEstimate     wsEstimate     `json:"aftership_estimated_delivery_date"`
	Android               []string       `json:"android"`
	Checkpoints           []wsCheckpoint `json:"checkpoints"`
	CourierDestination    string         `json:"courier_destination_country_iso3"`
	CourierRedirectLink   string         `json:"courier_redirect_link"`
	CourierTrackingLink   string         `json:"courier_tracking_link"`
	CreatedAt             string         `json:"created_at"`
	CustomFields          wsCustomFields `json:"custom_fields"`
	CustomerName          string         `json:"customer_name"`
	DestinationCity       string         `json:"destination_city"`
	DestinationCountry    string         `json:"destination_country_iso3"`
	DestinationPostalCode string         `json:"destination_postal_code"`
	DestinationRaw        string         `json:"destination_raw_location"`
	DestinationState      string         `json:"destination_state"`
	Emails                []string       `json:"emails"`
	ExpectedDelivery      string         `json:"expected_delivery"`
	ID                    string         `json:"id"`
	Language              string         `json:"language"`
	LastUpdatedAt         string         `json:"last_updated_at"`
	LatestEstimate        wsLatest       `json:"latest_estimated_delivery"`
	OrderDate             string         `json:"order_date"`
	OrderID               string         `json:"order_id"`
	OrderNumber           string         `json:"order_number"`
	OriginCity            string         `json:"origin_city"`
	OriginCountry         string         `json:"origin_country_iso3"`
	OriginState           string         `json:"origin_state"`
	ReturnToSender        bool           `json:"return_to_sender"`
	ShipmentDeliveryDate  *string        `json:"shipment_delivery_date"`
	ShipmentPickupDate    string         `json:"shipment_pickup_date"`
	ShipmentType          string         `json:"shipment_type"`
	ShipmentWeight        float64        `json:"shipment_weight"`
	ShipmentWeightUnit    string         `json:"shipment_weight_unit"`
	Slug                  string         `json:"slug"`
	Smses                 []string       `json:"smses"`
	Source                string         `json:"source"`
	Subtag                string         `json:"subtag"`
	SubtagMessage         string         `json:"subtag_message"`
	Tag                   string         `json:"tag"`
	Title                 string         `json:"title"`
	TrackedCount          int            `json:"tracked_count"`
	TrackingNumber        string         `json:"tracking_number"`
	UpdatedAt             string         `json:"updated_at"`
}

// wsCodes is a stage in AfterShip's terms: tag, subtag, subtag message,
// the carrier's raw code and text.
func wsCodes(st stage, carrier string) (tag, subtag, subtagMsg, raw, msg string) {
	switch st {
	case stInfo:
		return "InfoReceived", "InfoReceived_001", "Info Received", "MP", "Shipment Ready for " + strings.ToUpper(carrier)
	case stShipped:
		return "InTransit", "InTransit_002", "Acceptance scan", "OR", "Origin Scan"
	case stTransit:
		return "InTransit", "InTransit_001", "In Transit", "AR", "Arrived at Facility"
	case stException:
		return "Exception", "Exception_007", "Delayed (Weather)", "WD", "Weather Delay"
	case stOFD:
		return "OutForDelivery", "OutForDelivery_001", "Out for Delivery", "OT", "Out for Delivery"
	case stAttempt:
		return "AttemptFail", "AttemptFail_001", "Failed Attempt", "48", "Delivery Attempted"
	case stDelivered:
		return "Delivered", "Delivered_001", "Delivered", "KB", "Delivered"
	case stRTS:
		return "Exception", "Exception_010", "Returning to sender", "RS", "Returning package to sender"
	default: // stPickup
		return "AvailableForPickup", "AvailableForPickup_001", "Available for pickup", "ZP", "Available for pickup at access point"
	}
}

var wsCarriers = []struct{ slug, link string }{
	{"ups", "https://www.ups.com/track?loc=en_US&tracknum=%s&requester=WT/trackdetails"},
	{"ups", "https://www.ups.com/track?loc=en_US&tracknum=%s&requester=WT/trackdetails"},
	{"fedex", "https://www.fedex.com/fedextrack/?trknbr=%s"},
	{"usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s"},
}

func (g *gen) number(carrier string, i int) string {
	switch carrier {
	case "ups":
		return fmt.Sprintf("1Z%06X03%08d", g.tag&0xffffff, i)
	case "usps":
		return fmt.Sprintf("9400%08d%010d", g.tag%100000000, i)
	case "fedex":
		return fmt.Sprintf("%06d%08d", g.tag%1000000, i)
	case "dhl":
		return fmt.Sprintf("JD%06d%010d", g.tag%1000000, i)
	default: // aramex
		return fmt.Sprintf("%05d%08d", g.tag%100000, i)
	}
}

func (g *gen) wineshipping(i int) (shipment, []Webhook) {
	c := wsCarriers[g.r.IntN(len(wsCarriers))]
	number := g.number(c.slug, i)
	cps := g.lifecycle(g.checkpoints())
	first, dest := cps[0], cps[len(cps)-1].where
	link := fmt.Sprintf(c.link, number)
	order := fmt.Sprintf("%08d", 30000000+i)
	eta := first.at.Add(5 * 24 * time.Hour).Format("2006-01-02")
	contents := fmt.Sprintf("1xI0001003686(EACH) | %dxZ1883530252(750) | 1xZ2081643956(750) | 2xZ2266944449(750)", 1+g.r.IntN(6))
	msg := wsMsg{
		Active:              true,
		AftershipEstimate:   wsEstimate{EstimatedDeliveryDate: eta, EstimatedDeliveryDateMin: eta, EstimatedDeliveryDateMax: eta},
		Android:             []string{},
		CourierDestination:  "USA",
		CourierRedirectLink: link,
		CourierTrackingLink: link,
		CreatedAt:           first.at.Add(-2 * time.Hour).UTC().Format(time.RFC3339),
		CustomFields: wsCustomFields{
			Contents: contents, ContentsProductUnits: "12", DateInput: first.at.Add(-48 * time.Hour).Format("2006-01-02"),
			DCCID: "CONT-0" + order, DCOID: order, DCPool: "DAILY", DCShipConfirm: first.at.UTC().Format(time.RFC3339),
			DCVer: "v3", FinalMile: c.slug, OMSContents: contents, SellerName: "The Winery Name", SellerNumber: "10000",
			ShipfromDC: "ETC01", SpecialAttributes: "icepack", TransmissionID: g.uuid(), TransportZone: "5", Tref: g.uuid(),
		},
		CustomerName:          "Jane D.",
		DestinationCity:       dest.city,
		DestinationCountry:    "USA",
		DestinationPostalCode: dest.zip,
		DestinationRaw:        "555 Main Street, " + dest.city + ", " + dest.state + ", " + dest.zip,
		DestinationState:      dest.state,
		Emails:                []string{"jane@example.com"},
		ExpectedDelivery:      eta,
		ID:                    strings.ReplaceAll(g.uuid(), "-", "")[:24],
		Language:              "en",
		LatestEstimate:        wsLatest{Source: "Carrier EDD", Datetime: eta, Type: "specific"},
		OrderDate:             first.at.Add(-50 * time.Hour).In(first.where.zone()).Format(time.RFC3339),
		OrderID:               "CONT-0" + order,
		OrderNumber:           order,
		OriginCity:            first.where.city,
		OriginCountry:         "USA",
		OriginState:           first.where.state,
		ShipmentPickupDate:    first.at.In(first.where.zone()).Format(time.RFC3339),
		ShipmentType:          strings.ToUpper(c.slug) + " Ground",
		ShipmentWeight:        float64(5+g.r.IntN(300)) / 10,
		ShipmentWeightUnit:    "lb",
		Slug:                  c.slug,
		Smses:                 []string{"+18555072501"},
		Source:                "api",
		Title:                 order,
		TrackingNumber:        number,
	}
	var (
		seq    []Webhook
		points []byte // the checkpoints so far, encoded once each
	)
	for k, cp := range cps {
		tag, subtag, subtagMsg, raw, text := wsCodes(cp.stage, c.slug)
		point := wsCheckpoint{
			CheckpointTime: cp.at.In(cp.where.zone()).Format(time.RFC3339),
			Coordinates:    []string{},
			CountryISO3:    "USA",
			CountryName:    "United States",
			CreatedAt:      cp.at.Add(time.Minute).UTC().Format(time.RFC3339),
			Location:       cp.where.city + ", " + cp.where.state + ", US, United States",
			Message:        text,
			RawTag:         raw,
			Slug:           c.slug,
			Subtag:         subtag,
			SubtagMessage:  subtagMsg,
			Tag:            tag,
		}
		if cp.stage == stInfo {
			point.Location = "United States" // the label scan has no place, as in the seed
		} else {
			point.City, point.State = str(cp.where.city), str(cp.where.state)
			if cp.stage >= stOFD {
				point.Zip = str(cp.where.zip)
			}
		}
		if k > 0 {
			points = append(points, ',')
		}
		points = append(points, marshal(point)...)
		m := msg
		m.Tag, m.Subtag, m.SubtagMessage = tag, subtag, subtagMsg
		updated := cp.at.Add(90 * time.Second).UTC()
		m.UpdatedAt, m.LastUpdatedAt = updated.Format(time.RFC3339), updated.Format(time.RFC3339)
		m.TrackedCount = k + 1
		m.ReturnToSender = cp.stage == stRTS
		if cp.stage == stDelivered {
			m.ShipmentDeliveryDate = str(point.CheckpointTime)
		}
		eventID := g.uuid()
		// The envelope is encoded with no checkpoints, then the list goes
		// in its place: AfterShip's cumulative lists make the bodies grow
		// with the square of the checkpoints otherwise.
		env := marshal(wsBody{Event: "tracking_update", EventID: eventID, IsTrackingFirstTag: k == 0, Msg: m, TS: updated.Unix()})
		at := bytes.Index(env, []byte(`"checkpoints":null`)) + len(`"checkpoints":`)
		body := make([]byte, 0, len(env)+len(points)+2)
		body = append(append(append(append(body, env[:at]...), '['), points...), ']')
		body = append(body, env[at+len("null"):]...)
		seq = append(seq, Webhook{Source: "wineshipping", Body: body, EventID: eventID, Header: map[string]string{
			"Content-Type":          "application/json",
			"aftership-hmac-sha256": sign(wineshippingSecret, body),
		}, ShipmentKeys: []string{key(c.slug, number)}})
	}
	return shipment{source: "wineshipping", keys: map[string]int{key(c.slug, number): len(cps)}, last: cps[len(cps)-1].stage}, seq
}

// ---- Carriyo: the Shipment object, metadata in headers --------------------

type cyBody struct {
	ShipmentID       string            `json:"shipment_id"`
	References       map[string]string `json:"references"`
	Merchant         string            `json:"merchant"`
	CarrierAccount   cyAccount         `json:"carrier_account"`
	PostShippingInfo cyPSI             `json:"post_shipping_info"`
	EntityType       string            `json:"entity_type"`
	Tenant           string            `json:"tenant"`
	OrderDate        string            `json:"order_date"`
	CreationDate     string            `json:"creation_date"`
	UpdateDate       string            `json:"update_date"`
	Pickup           cyPlace           `json:"pickup"`
	Dropoff          cyDropoff         `json:"dropoff"`
	Items            []cyItem          `json:"items"`
	Payment          cyPayment         `json:"payment"`
}

type cyAccount struct {
	Carrier     string `json:"carrier"`
	CarrierID   string `json:"carrier_id"`
	AccountName string `json:"carrier_account_name"`
}

type cyPSI struct {
	Status            string            `json:"status"`
	TrackingNo        string            `json:"tracking_no"`
	CarrierStatusDate string            `json:"carrier_status_date"`
	KeyMilestones     map[string]string `json:"key_milestones"`
}

type cyPlace struct {
	PartnerLocationCode string `json:"partner_location_code"`
	City                string `json:"city"`
	Country             string `json:"country"`
}

type cyDropoff struct {
	ContactName  string `json:"contact_name"`
	ContactPhone string `json:"contact_phone"`
	ContactEmail string `json:"contact_email"`
	Address1     string `json:"address1"`
	City         string `json:"city"`
	Postcode     string `json:"postcode"`
	Country      string `json:"country"`
}

type cyItem struct {
	Description string  `json:"description"`
	SKU         string  `json:"sku"`
	Quantity    int     `json:"quantity"`
	Price       cyMoney `json:"price"`
}

type cyMoney struct {
	Amount   float64 `json:"amount"`
	Currency string  `json:"currency"`
}

type cyPayment struct {
	PaymentMode string  `json:"payment_mode"`
	TotalAmount float64 `json:"total_amount"`
	Currency    string  `json:"currency"`
}

func cyStatus(st stage) string {
	switch st {
	case stInfo:
		return "booked"
	case stShipped:
		return "shipped"
	case stTransit:
		return "in_transit"
	case stException:
		return "delayed"
	case stOFD:
		return "out_for_delivery"
	case stAttempt:
		return "failed_delivery_attempt"
	case stDelivered:
		return "delivered"
	case stRTS:
		return "ready_for_return"
	default:
		return "awaiting_customer_collection"
	}
}

// cyMilestones are the statuses Carriyo keeps a key milestone for: the
// first time each was reached.
var cyMilestones = map[string]bool{"booked": true, "shipped": true, "out_for_delivery": true, "delivered": true}

var cyCarriers = []struct{ code, name string }{
	{"DHL", "DHL Express UK"}, {"DHL", "DHL Express UK"}, {"ARAMEX", "Aramex UAE"}, {"FEDEX", "FedEx International"},
}

func (g *gen) carriyo(i int) (shipment, []Webhook) {
	c := cyCarriers[g.r.IntN(len(cyCarriers))]
	number := g.number(strings.ToLower(c.code), i)
	cps := g.lifecycle(g.checkpoints())
	ref := fmt.Sprintf("ORDER-%d", 10000+i)
	price := float64(1000+g.r.IntN(20000)) / 100
	base := cyBody{
		ShipmentID:     fmt.Sprintf("MP%08X%03X", g.tag, i%4096),
		References:     map[string]string{"partner_order_reference": ref, "partner_shipment_reference": ref + "-1"},
		Merchant:       "ACME",
		CarrierAccount: cyAccount{Carrier: c.code, CarrierID: g.uuid(), AccountName: c.name},
		EntityType:     "FORWARD",
		Tenant:         "ACME-TENANT",
		OrderDate:      cps[0].at.Add(-15 * time.Hour).UTC().Format("2006-01-02T15:04:05.000Z"),
		CreationDate:   cps[0].at.Add(-time.Minute).UTC().Format("2006-01-02T15:04:05.000Z"),
		Pickup:         cyPlace{PartnerLocationCode: "LON-WH-01", City: "London", Country: "GB"},
		Dropoff: cyDropoff{ContactName: "Jo Bloggs", ContactPhone: "+447700900123", ContactEmail: "jo.bloggs@example.com",
			Address1: "221B Baker Street", City: "London", Postcode: "NW1 6XE", Country: "GB"},
		Items:   []cyItem{{Description: "Running Shoes - Black, Size 44", SKU: "SHOE-RUN-BLK-44", Quantity: 1, Price: cyMoney{price, "GBP"}}},
		Payment: cyPayment{PaymentMode: "PRE_PAID", TotalAmount: price, Currency: "GBP"},
	}
	webhookID := fmt.Sprintf("ACCOUNT_w%04d-%04d", g.tag%10000, i%10000)
	milestones := map[string]string{}
	var seq []Webhook
	for _, cp := range cps {
		status := cyStatus(cp.stage)
		when := cp.at.UTC().Format(time.RFC3339)
		if cyMilestones[status] && milestones[status] == "" {
			milestones[status] = when
		}
		b := base
		b.PostShippingInfo = cyPSI{Status: status, TrackingNo: number, CarrierStatusDate: when, KeyMilestones: clone(milestones)}
		b.UpdateDate = cp.at.Add(6 * time.Second).UTC().Format("2006-01-02T15:04:05.000Z")
		body := marshal(b)
		eventID := g.uuid()
		seq = append(seq, Webhook{Source: "carriyo", Body: body, EventID: eventID, Header: map[string]string{
			"Content-Type": "application/json",
			"X-API-Key":    carriyoKey,
			"event-id":     eventID,
			"trigger":      status,
			"webhook-id":   webhookID,
		}, ShipmentKeys: []string{key(c.code, number)}})
	}
	return shipment{source: "carriyo", keys: map[string]int{key(c.code, number): len(cps)}, last: cps[len(cps)-1].stage}, seq
}

func clone(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// ---- SwiftPOD: shipment_notify of EasyPost labels --------------------------

type spBody struct {
	Event spEvent `json:"event"`
	Data  spOrder `json:"data"`
}

type spEvent struct {
	UUID      string     `json:"uuid"`
	Tracking  spTracking `json:"tracking"`
	Name      string     `json:"name"`
	Timestamp string     `json:"timestamp"`
}

type spTracking struct {
	TrackingNumber string   `json:"tracking_number"`
	TrackingStatus string   `json:"tracking_status"`
	CarrierCode    string   `json:"carrier_code"`
	TrackingURL    string   `json:"tracking_url"`
	ShippedItems   []spItem `json:"shipped_items"`
}

type spItem struct {
	OrderItemID string `json:"order_item_id"`
	Quantity    int    `json:"quantity"`
}

type spOrder struct {
	ID             int              `json:"id"`
	OrderID        string           `json:"order_id"`
	TestOrder      bool             `json:"test_order"`
	SampleOrder    bool             `json:"sample_order"`
	ReprintOrder   bool             `json:"reprint_order"`
	CreatedAt      string           `json:"created_at"`
	UpdatedAt      string           `json:"updated_at"`
	Status         string           `json:"status"`
	RejectedAt     *string          `json:"rejected_at"`
	LineItems      []spLineItem     `json:"line_items"`
	Trackings      []spOrderParcel  `json:"trackings"`
	ShippingMethod string           `json:"shipping_method"`
	Address        spAddress        `json:"address"`
	ReturnAddress  *json.RawMessage `json:"return_address"`
	TotalCost      *string          `json:"total_cost"`
}

type spLineItem struct {
	ID          int      `json:"id"`
	SKU         string   `json:"sku"`
	Quantity    int      `json:"quantity"`
	OrderItemID string   `json:"order_item_id"`
	PrintFiles  []spFile `json:"print_files"`
}

type spFile struct {
	Key string `json:"key"`
	URL string `json:"url"`
}

type spOrderParcel struct {
	TrackingNumber string   `json:"tracking_number"`
	TrackingURL    string   `json:"tracking_url"`
	Carrier        string   `json:"carrier"`
	CreatedAt      string   `json:"created_at"`
	Status         string   `json:"status"`
	LabelURL       string   `json:"label_url"`
	ShippedItems   []spItem `json:"shipped_items"`
	Primary        bool     `json:"primary"`
}

type spAddress struct {
	Name    string  `json:"name"`
	Email   *string `json:"email"`
	Company *string `json:"company"`
	Phone   string  `json:"phone"`
	Street1 string  `json:"street1"`
	Street2 *string `json:"street2"`
	City    string  `json:"city"`
	State   string  `json:"state"`
	Country string  `json:"country"`
	Zip     string  `json:"zip"`
}

// spStatus is a stage as an EasyPost tracker status. EasyPost has no
// status for a delay or a failed attempt: the tracker stays in transit or
// out for delivery.
func spStatus(st stage) string {
	switch st {
	case stInfo:
		return "pre_transit"
	case stShipped, stTransit, stException:
		return "in_transit"
	case stOFD, stAttempt:
		return "out_for_delivery"
	case stDelivered:
		return "delivered"
	case stRTS:
		return "return_to_sender"
	default:
		return "available_for_pickup"
	}
}

var spCarriers = []struct{ code, carrier, link string }{
	{"USPS", "usps", "https://tools.usps.com/go/TrackConfirmAction.action?tLabels=%s"},
	{"USPS", "usps", "https://tools.usps.com/go/TrackConfirmAction.action?tLabels=%s"},
	{"USPS", "usps", "https://tools.usps.com/go/TrackConfirmAction.action?tLabels=%s"},
	{"UPS", "ups", "https://www.ups.com/track?loc=en_US&tracknum=%s"},
	{"FedEx", "fedex", "https://www.fedex.com/fedextrack/?trknbr=%s"},
}

const spTime = "2006-01-02T15:04:05.000000Z"

func (g *gen) swiftpod(i int) (shipment, []Webhook) {
	c := spCarriers[g.r.IntN(len(spCarriers))]
	number := g.number(c.carrier, i)
	cps := g.lifecycle(g.checkpoints())
	link := fmt.Sprintf(c.link, number)
	order := fmt.Sprintf("%d-A", 28000+i)
	items := []spItem{{OrderItemID: order + "-001", Quantity: 1 + g.r.IntN(3)}}
	dest := cps[len(cps)-1].where
	data := spOrder{
		ID:        100000 + i,
		OrderID:   order,
		CreatedAt: cps[0].at.Add(-30 * time.Hour).UTC().Format(spTime),
		Status:    "shipped",
		LineItems: []spLineItem{{ID: 1, SKU: "UNPT1B00M", Quantity: items[0].Quantity, OrderItemID: fmt.Sprint(196953049 + i),
			PrintFiles: []spFile{{Key: "front", URL: "https://via.placeholder.com/2400/09f/fff.png"}}}},
		ShippingMethod: "standard",
		Address: spAddress{Name: "John Smith", Phone: "(330) 638-1331", Street1: "4736 Phillips Rice Rd",
			City: dest.city, State: dest.state, Country: "US", Zip: dest.zip},
	}
	var seq []Webhook
	// The first checkpoint is the label's creation: created_at, in every
	// notification. Each later checkpoint is a notification.
	for _, cp := range cps[1:] {
		status := spStatus(cp.stage)
		d := data
		d.UpdatedAt = cp.at.Add(-time.Second).UTC().Format(spTime)
		d.Trackings = []spOrderParcel{{TrackingNumber: number, TrackingURL: link, Carrier: c.code,
			CreatedAt: cps[0].at.UTC().Format("2006-01-02T15:04:05.000000+00:00"), Status: status,
			LabelURL:     "https://easypost-files.s3.us-west-2.amazonaws.com/files/postage_label/" + number + ".png",
			ShippedItems: items, Primary: true}}
		eventID := g.uuid()
		body := marshal(spBody{
			Event: spEvent{UUID: eventID, Name: "shipment_notify", Timestamp: cp.at.UTC().Format(spTime),
				Tracking: spTracking{TrackingNumber: number, TrackingStatus: status, CarrierCode: c.code, TrackingURL: link, ShippedItems: items}},
			Data: d,
		})
		seq = append(seq, Webhook{Source: "swiftpod", Body: body, EventID: eventID, Header: map[string]string{
			"Content-Type":  "application/json",
			"Authorization": "Bearer " + swiftpodToken,
		}, ShipmentKeys: []string{key(c.carrier, number)}})
	}
	return shipment{source: "swiftpod", keys: map[string]int{key(c.carrier, number): len(cps)}, last: cps[len(cps)-1].stage}, seq
}

// ---- Tenovi: fulfilment milestones of a device -----------------------------

type tnBody struct {
	HWIDeviceID  string  `json:"hwi_device_id"`
	PatientID    string  `json:"patient_id"`
	HardwareUUID string  `json:"hardware_uuid"`
	SensorCode   string  `json:"sensor_code"`
	DeviceName   string  `json:"device_name"`
	Status       string  `json:"status"`
	TrackingLink *string `json:"tracking_link"`
}

var tnCarriers = []struct{ carrier, link string }{
	{"usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s"},
	{"usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s"},
	{"usps", "https://tools.usps.com/go/TrackConfirmAction?tLabels=%s"},
	{"ups", "https://www.ups.com/track?loc=en_US&tracknum=%s"},
	{"fedex", "https://www.fedex.com/fedextrack/?trknbr=%s"},
}

var tnDevices = []struct{ code, name string }{
	{"10", "Tenovi BPM - L"}, {"12", "Tenovi Scale"}, {"14", "Tenovi Pulse Oximeter"}, {"20", "Tenovi Glucometer"},
}

func (g *gen) tenovi(i int) (shipment, []Webhook) {
	c := tnCarriers[g.r.IntN(len(tnCarriers))]
	number := g.number(c.carrier, i)
	link := fmt.Sprintf(c.link, number)
	dev := tnDevices[g.r.IntN(len(tnDevices))]
	device := g.uuid()
	statuses := []string{"Dropship Requested"}
	if g.r.Float64() < 0.5 {
		statuses = append(statuses, "On Hold")
	}
	if g.r.Float64() < 0.3 {
		statuses = append(statuses, "Client Action Required")
	}
	statuses = append(statuses, "Pending Shipment", "Ready to Ship", "Shipped")
	shipped := len(statuses) - 1
	if g.r.Float64() < 0.9 {
		statuses = append(statuses, "Delivered")
	} else {
		statuses = append(statuses, "Returned")
	}
	body := tnBody{HWIDeviceID: device, PatientID: fmt.Sprintf("patient-%08x-%06d", g.tag, i),
		HardwareUUID: fmt.Sprintf("%012x", g.r.Uint64()&0xffffffffffff), SensorCode: dev.code, DeviceName: dev.name}
	deviceKey, parcelKey := key("tenovi", device), key(c.carrier, number)
	var seq []Webhook
	for k, st := range statuses {
		b := body
		b.Status = st
		keys := []string{deviceKey}
		if k >= shipped {
			b.TrackingLink = str(link)
			keys = []string{parcelKey}
		}
		raw := marshal(b)
		seq = append(seq, Webhook{Source: "tenovi", Body: raw, Header: map[string]string{
			"Content-Type":  "application/json",
			"Authorization": tenoviToken,
		}, ShipmentKeys: keys})
	}
	last := stDelivered
	if statuses[len(statuses)-1] == "Returned" {
		last = stRTS
	}
	return shipment{source: "tenovi", keys: map[string]int{deviceKey: shipped, parcelKey: len(statuses) - shipped}, last: last}, seq
}

// ---- Malformed bodies ------------------------------------------------------

// malformed derives a body ingress must reject from a real webhook of the
// same source: half the time truncated JSON, otherwise JSON without what
// identifies the event (Carriyo: no event-id header).
func (g *gen) malformed(w Webhook) Webhook {
	m := Webhook{Source: w.Source, Header: cloneHeader(w.Header), Malformed: true, ship: -1, seq: -1}
	if g.r.IntN(2) == 0 {
		m.Body = append([]byte(nil), w.Body[:len(w.Body)/2+g.r.IntN(len(w.Body)/4+1)]...)
	} else {
		switch w.Source {
		case "wineshipping":
			m.Body = bytes.Replace(w.Body, []byte(`"event_id":`), []byte(`"eventid":`), 1)
		case "swiftpod":
			m.Body = bytes.Replace(w.Body, []byte(`"uuid":`), []byte(`"uid":`), 1)
		case "carriyo":
			m.Body = append([]byte(nil), w.Body...)
			delete(m.Header, "event-id")
		default: // tenovi: none of hwi_device_id, status, tracking_link
			m.Body = marshal(map[string]string{"device_name": "Tenovi BPM - L", "sensor_code": "10", "patient_ref": g.uuid()})
		}
	}
	if w.Source == "wineshipping" {
		m.Header["aftership-hmac-sha256"] = sign(wineshippingSecret, m.Body)
	}
	return m
}
