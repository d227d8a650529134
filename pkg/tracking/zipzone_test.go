package tracking_test

import (
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

func TestZIPTable(t *testing.T) {
	rows, zones, err := tracking.ZIPTableStats()
	if err != nil {
		t.Fatal(err)
	}
	// The counts of zipzones/README.md; update both with the data.
	if rows != 39211 || len(zones) != 41 {
		t.Errorf("ZIP table: %d rows, %d zones; want 39211 rows, 41 zones", rows, len(zones))
	}
	for _, z := range zones {
		if _, err := time.LoadLocation(z); err != nil {
			t.Errorf("ZIP table zone %q does not load: %v", z, err)
		}
	}
	if tracking.ZIPDataDate != "2024-11" {
		t.Errorf("ZIPDataDate = %q: update zipzones/README.md with the data", tracking.ZIPDataDate)
	}
}

func TestParseZIPTableRejects(t *testing.T) {
	tests := []struct {
		name, csv string
	}{
		{"empty", ""},
		{"no header", "00601,America/Puerto_Rico\n"},
		{"header only", "zip,time_zone\n"},
		{"short zip", "zip,time_zone\n0601,America/Puerto_Rico\n"},
		{"letters", "zip,time_zone\n0060A,America/Puerto_Rico\n"},
		{"no zone", "zip,time_zone\n00601,\n"},
		{"no comma", "zip,time_zone\n00601;America/Puerto_Rico\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tracking.ParseZIPTable(tt.csv); err == nil {
				t.Errorf("ParseZIPTable(%q) = nil, want an error", tt.csv)
			}
		})
	}
	// CRLF and a missing final newline are fine.
	if _, err := tracking.ParseZIPTable("zip,time_zone\r\n00601,America/Puerto_Rico\r\n00602,America/Puerto_Rico"); err != nil {
		t.Errorf("CRLF table: %v", err)
	}
	var many strings.Builder
	many.WriteString("zip,time_zone\n")
	for i := 0; i < 256; i++ {
		many.WriteString("00601,Zone/" + strings.Repeat("x", i+1) + "\n")
	}
	if _, err := tracking.ParseZIPTable(many.String()); err == nil || errors.Is(err, tracking.ErrBadTime) {
		t.Errorf("256 zones: err = %v, want a table error", err)
	}
}

// BenchmarkParseZIPTable measures the one-time parse of the embedded table
// (sync.Once in the package): time per parse, and the heap it allocates
// (B/op: the table itself, plus the temporary zone index and prefix
// counts). The retained size is reported as retained-B.
func BenchmarkParseZIPTable(b *testing.B) {
	csv := tracking.EmbeddedZIPCSV()
	b.ReportAllocs()
	b.SetBytes(int64(len(csv)))
	for b.Loop() {
		if _, err := tracking.ParseZIPTable(csv); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(retainedZIPTable(b, csv)), "retained-B")
}

// retainedZIPTable measures the live heap a parsed table keeps (the zone
// names point into the embedded text, which is not on the heap).
func retainedZIPTable(b *testing.B, csv string) uint64 {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	table, err := tracking.ParseZIPTable(csv)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(table)
	return after.HeapAlloc - before.HeapAlloc
}
