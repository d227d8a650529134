package uspspoller

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// BenchmarkScheduleMemory reports the heap the in-memory schedule (the
// mirror of the KV bucket every replica keeps) holds per shipment, with
// 10,000 active shipments, and the cost of the mirror update a KV watch
// event makes.
func BenchmarkScheduleMemory(b *testing.B) {
	const n = 10_000
	now := time.Now()
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{
			TrackingNumber: fmt.Sprintf("9400111899223%09d", i), State: Active, Source: "tenovi",
			ScheduledAt: now, NewsAt: now, Due: now.Add(time.Duration(i) * time.Second),
			Polls: 3, NotFound: 1, LastPollAt: now, LastResponse: "3ee47e8ab1a88f58a8dec1ea54e634d7",
		}
	}
	keys := make([]string, n)
	for i := range keys {
		keys[i] = Key(entries[i].TrackingNumber)
	}
	var perShipment float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		s := newSchedule()
		for i := range entries {
			s.apply(keys[i], uint64(i+1), &entries[i], true)
		}
		b.StopTimer()
		perShipment += float64(heapInUse()-before) / n
		runtime.KeepAlive(s)
		b.StartTimer()
	}
	b.ReportMetric(perShipment/float64(b.N), "B/shipment")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/apply")
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
