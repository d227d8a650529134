package tracking

import (
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// ZIPDataDate is the date of the embedded US ZIP -> time zone table
// (zipzones/us-zip-timezones.csv: infused/ziptz, "November 2024 zip code
// updates", commit 35c7e48, MIT). ZIP codes change a little every year; a
// ZIP newer than this falls back to its three-digit prefix.
const ZIPDataDate = "2024-11"

//go:embed zipzones/us-zip-timezones.csv
var zipZonesCSV string

// zipTable is the parsed ZIP table. Both arrays hold an index into zones
// plus one, so that zero means "not in the table". A dense array indexed by
// the ZIP is smaller than any keyed structure here (39,211 of 100,000 ZIPs
// are used: 100 KB, against ~196 KB for sorted uint32 keys and uint8 values,
// and several times that for a map) and a lookup is a single load.
type zipTable struct {
	zones []string      // zone names in order of first appearance
	zip   [100000]uint8 // ZIP -> zone index + 1
	zip3  [1000]uint8   // ZIP3 prefix -> its most common zone's index + 1
	rows  int           // ZIPs in the table
}

var (
	zipOnce sync.Once
	zipData *zipTable
	zipErr  error
)

// zips parses the embedded table on first use. A parse error is a build
// defect (the file is embedded and tested), so it is kept and every lookup
// then misses, falling back to state and country, rather than panicking in
// a running normalizer.
func zips() (*zipTable, error) {
	zipOnce.Do(func() { zipData, zipErr = parseZIPTable(zipZonesCSV) })
	return zipData, zipErr
}

// parseZIPTable reads "zip,time_zone" lines (a header first) by hand:
// encoding/csv would allocate a record per line for a file that has no
// quoting. The file lists ZIPs in runs of one zone, so the previous zone
// is tried before the name index.
func parseZIPTable(csv string) (*zipTable, error) {
	t := new(zipTable)
	index := make(map[string]uint8, 64)
	var last string
	var lastIdx uint8
	line, rest := 0, csv
	for rest != "" {
		var l string
		l, rest = cutLine(rest)
		line++
		if line == 1 {
			if l != "zip,time_zone" {
				return nil, fmt.Errorf("tracking: ZIP table: header %q", l)
			}
			continue
		}
		if l == "" {
			continue
		}
		if len(l) < 7 || l[5] != ',' {
			return nil, fmt.Errorf("tracking: ZIP table line %d: %q", line, l)
		}
		zip, ok := digits(l[:5])
		if !ok {
			return nil, fmt.Errorf("tracking: ZIP table line %d: ZIP %q", line, l[:5])
		}
		name := l[6:]
		if name != last || lastIdx == 0 {
			zi, ok := index[name]
			if !ok {
				if len(t.zones) == 255 {
					return nil, errors.New("tracking: ZIP table: more than 255 zones")
				}
				t.zones = append(t.zones, name)
				zi = uint8(len(t.zones))
				index[name] = zi
			}
			last, lastIdx = name, zi
		}
		if t.zip[zip] == 0 {
			t.rows++
		}
		t.zip[zip] = lastIdx
	}
	if t.rows == 0 {
		return nil, errors.New("tracking: ZIP table is empty")
	}
	// Each prefix's most common zone; a tie goes to the zone listed first
	// in the file, so the result is deterministic.
	var count [256]uint16
	for p := range t.zip3 {
		block := t.zip[p*100 : p*100+100]
		for _, zi := range block {
			count[zi]++
		}
		var best uint16
		for _, zi := range block {
			if zi != 0 && (count[zi] > best || count[zi] == best && zi < t.zip3[p]) {
				best, t.zip3[p] = count[zi], zi
			}
		}
		for _, zi := range block {
			count[zi] = 0
		}
	}
	return t, nil
}

// cutLine splits off the first line of s, without its "\n" or "\r\n".
func cutLine(s string) (line, rest string) {
	line, rest, _ = strings.Cut(s, "\n")
	return strings.TrimSuffix(line, "\r"), rest
}

// digits reads an all-digit string as a number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

// zipZone returns the zone of a five-digit ZIP: its own entry, else its
// prefix's most common zone (exact reports which).
func zipZone(zip int) (name string, exact bool) {
	t, err := zips()
	if err != nil || zip < 0 || zip >= len(t.zip) {
		return "", false
	}
	if zi := t.zip[zip]; zi != 0 {
		return t.zones[zi-1], true
	}
	if zi := t.zip3[zip/100]; zi != 0 {
		return t.zones[zi-1], false
	}
	return "", false
}
