package console

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/lookup"
)

// TestShipmentEncodersMatchEncodingJSON: the hand-written encoders write
// byte for byte what encoding/json writes, for values with every field set
// at random (edge cases of strings, times and maps included), so a field
// added to lookup.Shipment or lookup.Event fails here until encode.go
// writes it.
func TestShipmentEncodersMatchEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 3000 {
		d := shipmentDetail{}
		fill(t, r, reflect.ValueOf(&d.Shipment).Elem())
		if r.IntN(10) > 0 {
			d.Events = make([]lookup.Event, r.IntN(4))
			for j := range d.Events {
				fill(t, r, reflect.ValueOf(&d.Events[j]).Elem())
			}
		}
		l := shipmentList{Shipments: make([]lookup.Shipment, r.IntN(3))}
		for j := range l.Shipments {
			fill(t, r, reflect.ValueOf(&l.Shipments[j]).Elem())
		}
		if r.IntN(10) == 0 {
			l.Shipments = nil
		}
		if r.IntN(2) == 0 {
			l.NextCursor = pick(r, testStrings)
		}
		got, err := appendShipmentDetail(nil, &d)
		compare(t, i, d, got, err)
		got, err = appendShipmentList(nil, &l)
		compare(t, i, l, got, err)
	}

	// A timestamp MarshalJSON refuses fails both the same way.
	var d shipmentDetail
	d.Shipment.StatusAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := appendShipmentDetail(nil, &d); err == nil {
		t.Error("year 10000 encoded")
	}
}

func compare(t *testing.T, i int, v any, got []byte, err error) {
	t.Helper()
	var want bytes.Buffer
	if werr := json.NewEncoder(&want).Encode(v); werr != nil || err != nil {
		t.Fatalf("value %d: encoding/json error %v, ours %v", i, werr, err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("value %d:\n got %s\nwant %s", i, got, want.Bytes())
	}
}

var (
	testStrings = []string{"", "ups", "1Z999AA10123456784", "ORD-000123456", "a<b>&c", `quote " and \ backslash`,
		"Zürich", "\u2028\u2029", "\x00\x01\x1f\x7f", "bad \xff utf-8", "\b\f\n\r\t", "😀", "in_transit"}
	testTimes = []time.Time{
		time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 3, 8, 0, 0, 123456789, time.UTC),
		time.Date(2026, 3, 3, 8, 0, 0, 120000000, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(2026, 3, 3, 8, 0, 0, 0, time.FixedZone("", -5*3600)),
		{},
	}
	testMaps = []map[string]string{nil, {}, {"order_id": "ORD-1"}, {"b": "2", "a": "1", "c<": "&"}, {"Zürich": "\xff", "": ""}}
)

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }

// fill sets every field of v at random. A kind it does not know fails the
// test: teach it, and encode.go, the new field.
func fill(t *testing.T, r *rand.Rand, v reflect.Value) {
	t.Helper()
	for i := range v.NumField() {
		f, name := v.Field(i), v.Type().Field(i).Name
		switch {
		case f.Type() == reflect.TypeFor[time.Time]():
			f.Set(reflect.ValueOf(pick(r, testTimes)))
		case f.Type() == reflect.TypeFor[*time.Time]():
			if r.IntN(2) == 0 {
				tm := pick(r, testTimes)
				f.Set(reflect.ValueOf(&tm))
			} else {
				f.SetZero()
			}
		case f.Type() == reflect.TypeFor[map[string]string]():
			f.Set(reflect.ValueOf(pick(r, testMaps)))
		case f.Kind() == reflect.String:
			f.SetString(pick(r, testStrings))
		case f.Kind() == reflect.Bool:
			f.SetBool(r.IntN(2) == 0)
		case f.Kind() == reflect.Int:
			f.SetInt(int64(r.IntN(2000) - 1000))
		case f.Kind() == reflect.Struct:
			fill(t, r, f)
		default:
			t.Fatalf("field %s (%s): unknown to this test and to encode.go", name, f.Type())
		}
	}
}
