package tenovi

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/waybill-dev/waybill/pkg/tracking"
)

// linkCarriers are the carriers whose tracking pages Tenovi links to, with
// the query parameters (lower-cased) that hold the number, most usual
// first. USPS's tLabels may hold several numbers separated by commas: a
// multi-box order is one link.
var linkCarriers = []struct {
	domain  string
	carrier string
	params  []string
}{
	{"usps.com", "usps", []string{"tlabels", "qtc_tlabels1", "origtracknum", "strorigtracknum"}},
	{"ups.com", "ups", []string{"tracknum", "tracknums", "inquirynumber1", "trackingnumber"}},
	{"fedex.com", "fedex", []string{"trknbr", "tracknumbers", "tracknumber"}},
}

// genericParams are tried on any other carrier's link.
var genericParams = []string{
	"tracking_number", "trackingnumber", "tracking-number", "tracking_numbers",
	"trackingnumbers", "tracking-id", "trackingid", "tracknum", "tracknums",
	"tracknumber", "tracknumbers", "trknbr", "tlabels", "awb", "tracking", "number",
}

var errNoNumber = errors.New("no tracking number")

// parseLink returns the carrier and the tracking numbers (normalized,
// duplicates dropped, in link order) a tracking_link names. A link on a
// host it does not know gets the carrier from the host's name
// ("www.ontrac.com" -> "ontrac") and the number from a usual parameter or
// the last path segment.
func parseLink(link string) (carrier string, numbers []string, err error) {
	s := strings.TrimSpace(link)
	if !strings.Contains(s, "://") {
		s = "https://" + s // "tools.usps.com/go/..." pasted without a scheme
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", nil, fmt.Errorf("tracking_link %q: %w", link, err)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "" {
		return "", nil, fmt.Errorf("tracking_link %q: no host", link)
	}
	query := url.Values{}
	for k, vs := range u.Query() {
		k = strings.ToLower(k)
		query[k] = append(query[k], vs...)
	}
	params := genericParams
	carrier = ""
	for _, c := range linkCarriers {
		if host == c.domain || strings.HasSuffix(host, "."+c.domain) {
			carrier, params = c.carrier, c.params
			break
		}
	}
	if carrier == "" {
		carrier = hostCarrier(host)
	}
	if carrier == "" {
		return "", nil, fmt.Errorf("tracking_link %q: no carrier in host %q", link, host)
	}
	for _, p := range params {
		if numbers = splitNumbers(query[p]); len(numbers) > 0 {
			return carrier, numbers, nil
		}
	}
	if segs := strings.Split(strings.Trim(u.Path, "/"), "/"); len(segs) > 0 {
		if numbers = splitNumbers(segs[len(segs)-1:]); len(numbers) > 0 {
			return carrier, numbers, nil
		}
	}
	return "", nil, fmt.Errorf("tracking_link %q: %w", link, errNoNumber)
}

// splitNumbers splits comma-separated values into tracking numbers and
// keeps those that look like one: 5 to 64 letters, digits or dashes with at
// least one digit (which also rejects "track=yes" and page names such as
// "TrackConfirmAction").
func splitNumbers(values []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			n := tracking.NormalizeTrackingNumber(part)
			if !looksLikeNumber(n) || seen[n] {
				continue
			}
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func looksLikeNumber(n string) bool {
	if len(n) < 5 || len(n) > 64 {
		return false
	}
	digit := false
	for i := 0; i < len(n); i++ {
		c := n[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case (c >= 'A' && c <= 'Z') || c == '-':
		default:
			return false
		}
	}
	return digit
}

// hostCarrier names a carrier after its tracking site: the registrable
// label of the host, skipping a two-letter country's second level
// ("royalmail.co.uk" -> "royal-mail"). An IP address or a bare name ("N/A"
// read as a host) names nobody.
func hostCarrier(host string) string {
	labels := strings.Split(host, ".")
	if net.ParseIP(host) != nil || len(labels) < 2 {
		return ""
	}
	i := len(labels) - 2
	if i > 0 && len(labels[len(labels)-1]) == 2 {
		switch labels[i] {
		case "co", "com", "net", "org", "gov", "ac", "ne", "or":
			i--
		}
	}
	if i < 0 {
		i = 0
	}
	return tracking.NormalizeCarrier(labels[i])
}
