package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// payload is a seed webhook with a placeholder where each request's unique
// event id goes, so every request is a new event (no duplicates) of the
// seed's real size and shape.
type payload struct {
	source   string
	prefix   []byte
	suffix   []byte
	idHeader string // Carriyo carries its id in a header
}

// seedPayloads reads the providers' example payloads from their testdata.
func seedPayloads(root string) ([]payload, error) {
	specs := []struct{ source, file, field string }{
		{"wineshipping", "seed-tracking-update.json", `"event_id": "`},
		{"carriyo", "seed-delivered.json", `"shipment_id": "`},
		{"swiftpod", "seed-tracking-number.json", `"uuid": "`},
		{"tenovi", "seed-shipped-usps.json", `"hwi_device_id": "`},
	}
	var out []payload
	for _, s := range specs {
		body, err := os.ReadFile(filepath.Join(root, "pkg", "providers", s.source, "testdata", s.file))
		if err != nil {
			return nil, fmt.Errorf("seed payload: %w", err)
		}
		i := bytes.Index(body, []byte(s.field))
		if i < 0 {
			return nil, fmt.Errorf("%s/%s: no %s to vary", s.source, s.file, s.field)
		}
		start := i + len(s.field)
		end := start + bytes.IndexByte(body[start:], '"')
		p := payload{source: s.source, prefix: body[:start], suffix: body[end:]}
		if s.source == "carriyo" {
			p.idHeader = "event-id"
		}
		out = append(out, p)
	}
	return out, nil
}

// body appends the payload with id in place.
func (p payload) body(dst []byte, id string) []byte {
	dst = append(dst[:0], p.prefix...)
	dst = append(dst, id...)
	return append(dst, p.suffix...)
}
