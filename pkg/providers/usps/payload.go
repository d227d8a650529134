package usps

import (
	"bytes"
	"encoding/json"
)

// response is a USPS Tracking v3 body in either shape the normalizer sees:
// the DETAIL response (trackingNumber, trackingEvents[]) the poller asks
// for, and the TrackSummary/TrackDetail shape of Tenovi's USPS recipe. An
// error body sets Error. encoding/json matches keys case-insensitively,
// which absorbs USPS's casing drift. Recipient names, firms and delivery
// signatures (TrackSummary Name and FirmName, trackingEvents name and firm)
// are deliberately not decoded: they are personal data.
type response struct {
	TrackingNumber text `json:"trackingNumber"`

	ExpectedDeliveryTimeStamp  text `json:"expectedDeliveryTimeStamp"`
	ExpectedDeliveryDate       text `json:"expectedDeliveryDate"`
	PredictedDeliveryTimeStamp text `json:"predictedDeliveryTimeStamp"`
	PredictedDeliveryDate      text `json:"predictedDeliveryDate"`

	TrackingEvents events `json:"trackingEvents"`
	// EventSummaries is the SUMMARY response: one line of text per event,
	// with no fields to read a time or a place from.
	EventSummaries json.RawMessage `json:"eventSummaries"`

	TrackSummary events `json:"TrackSummary"`
	TrackDetail  events `json:"TrackDetail"`

	Error            json.RawMessage `json:"error"`
	ErrorDescription text            `json:"error_description"` // OAuth's
}

// event is one entry of trackingEvents (DETAIL).
type event struct {
	EventType      text `json:"eventType"`
	EventCode      text `json:"eventCode"`
	EventTimestamp text `json:"eventTimestamp"` // carrier-local wall clock
	GMTTimestamp   text `json:"GMTTimestamp"`   // the same instant in UTC
	GMTOffset      text `json:"GMTOffset"`      // "-05:00", or "-7:00"
	EventCity      text `json:"eventCity"`
	EventState     text `json:"eventState"`
	EventZIP       text `json:"eventZIP"`
	EventCountry   text `json:"eventCountry"`
}

// trackEvent is TrackSummary or one TrackDetail entry (the older shape).
type trackEvent struct {
	Event        text `json:"Event"`
	EventCode    text `json:"EventCode"`
	EventDate    text `json:"EventDate"` // "October 20, 2025"
	EventTime    text `json:"EventTime"` // "8:00 am"
	EventCity    text `json:"EventCity"`
	EventState   text `json:"EventState"`
	EventZIPCode text `json:"EventZIPCode"`
	EventCountry text `json:"EventCountry"`
}

// events is a list of tracking events kept raw, decoded one by one: an XML
// to JSON conversion upstream turns a one-element list into a bare object,
// so an object is read as a list of one.
type events []json.RawMessage

func (e *events) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*e = nil
		return nil
	case b[0] == '{':
		*e = events{json.RawMessage(b)}
		return nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(b, &list); err != nil {
		return err
	}
	*e = list
	return nil
}

// apiError is the error member: an object {code, message} from the
// tracking API, or a bare string ("invalid_client") from OAuth.
type apiError struct {
	Code    text `json:"code"`
	Message text `json:"message"`
}

func (r *response) apiError() (apiError, bool) {
	b := bytes.TrimSpace(r.Error)
	switch {
	case len(b) == 0 || string(b) == "null":
		return apiError{}, false
	case b[0] == '{':
		var e apiError
		_ = json.Unmarshal(b, &e) // a member that does not decode still says "error"
		return e, true
	default:
		var code text
		_ = json.Unmarshal(b, &code)
		return apiError{Code: code, Message: r.ErrorDescription}, true
	}
}

// text is a string field decoded leniently: USPS sends numbers and
// booleans as strings and now and then the reverse ("eventZIP": 34442),
// and null for absent values. Numbers and booleans keep their JSON text;
// an object or array where text is expected reads as "" rather than
// failing the whole response. Surrounding space is dropped.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null" || b[0] == '{' || b[0] == '[':
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = text(bytes.TrimSpace([]byte(s)))
	default:
		*t = text(b)
	}
	return nil
}
