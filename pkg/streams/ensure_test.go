package streams_test

import (
	"context"
	"maps"
	"reflect"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/streams"
	"github.com/waybill-dev/waybill/pkg/streams/natstest"
)

// Ensure skips updates that change nothing, so Covers must notice a change
// in any field waybill sets: each non-zero field of every stream config is
// changed in turn on the config the server holds, and Covers must refuse it.
func TestCoversComparesEveryFieldWaybillSets(t *testing.T) {
	srv := natstest.Start(t)
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := streams.Config{ShipmentsMaxAge: 48 * time.Hour, MaxBytes: 1 << 30}
	if err := streams.Ensure(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	for _, want := range streams.StreamConfigs(cfg) {
		s, err := js.Stream(ctx, want.Name)
		if err != nil {
			t.Fatal(err)
		}
		have := s.CachedInfo().Config
		if !streams.Covers(have, want) {
			t.Fatalf("%s: the server's config %+v does not cover the one asked for %+v", want.Name, have, want)
		}
		wv := reflect.ValueOf(want)
		for i := 0; i < wv.NumField(); i++ {
			f := wv.Type().Field(i)
			if wv.Field(i).IsZero() {
				continue
			}
			changed := have
			changed.Metadata = maps.Clone(have.Metadata)
			if !change(reflect.ValueOf(&changed).Elem().Field(i)) {
				t.Fatalf("%s.%s: no way to change a %s: extend change()", want.Name, f.Name, f.Type)
			}
			if streams.Covers(changed, want) {
				t.Errorf("%s: Covers ignores a change of %s", want.Name, f.Name)
			}
		}
	}
}

// An unchanged Ensure leaves the streams alone; a changed one updates them.
func TestEnsureUpdatesOnlyWhatChanged(t *testing.T) {
	srv := natstest.Start(t) // Start already ran Ensure with the defaults
	_, js := srv.Connect()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := streams.Ensure(ctx, js, streams.Config{}); err != nil {
		t.Fatal(err)
	}
	if err := streams.Ensure(ctx, js, streams.Config{RawMaxAge: time.Hour}); err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, streams.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.CachedInfo().Config.MaxAge; got != time.Hour {
		t.Fatalf("RAW max age %v after Ensure asked for 1h", got)
	}
}

// change sets v to a different value of its type, reporting whether it could.
func change(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "-changed")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(v.Uint() + 1)
	case reflect.Slice:
		if v.Type().Elem().Kind() != reflect.String {
			return false
		}
		v.Set(reflect.Append(v, reflect.ValueOf("changed.>")))
	case reflect.Map:
		if v.Len() == 0 {
			return false
		}
		for _, k := range v.MapKeys() {
			v.SetMapIndex(k, reflect.ValueOf(v.MapIndex(k).String()+"-changed"))
		}
	default:
		return false
	}
	return true
}
