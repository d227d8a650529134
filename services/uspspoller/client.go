package uspspoller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Sentinel errors that classify a USPS answer; Track wraps them in an
// *APIError. Callers use errors.Is.
var (
	// ErrNotFound: USPS does not know the number (yet). New labels are
	// "not available" for hours after the Tenovi webhook: retry later.
	ErrNotFound = errors.New("usps: tracking number not found")
	// ErrRateLimited: 429, the app's hourly quota is spent.
	ErrRateLimited = errors.New("usps: rate limited")
	// ErrUnavailable: 5xx, or no answer at all.
	ErrUnavailable = errors.New("usps: unavailable")
	// ErrUnauthorized: the credentials were refused (token endpoint), or a
	// fresh token was refused too.
	ErrUnauthorized = errors.New("usps: unauthorized")
	// ErrForbidden: 403, the app lacks access to the Tracking API.
	ErrForbidden = errors.New("usps: forbidden")
	// ErrRejected: another 4xx, e.g. a malformed tracking number.
	ErrRejected = errors.New("usps: request rejected")
)

// APIError is a USPS answer other than 200. It carries USPS's error code
// and message for tracking requests and only the OAuth error code for
// token requests (whose description could echo the client id): never a
// credential.
type APIError struct {
	Op         string // "token" or "tracking"
	Status     int
	Code       string
	Message    string
	RetryAfter time.Duration // from Retry-After, 0 when absent
	kind       error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: %s: HTTP %d", e.kind, e.Op, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	return b.String()
}

// Unwrap returns the sentinel (ErrNotFound, ErrRateLimited, ...).
func (e *APIError) Unwrap() error { return e.kind }

// maxBody bounds a USPS response: a DETAIL response holds at most 99
// events, a few tens of KiB.
const maxBody = 4 << 20

// Client calls USPS Tracking v3 with OAuth 2.0 client credentials. It
// keeps one access token, shared by every concurrent caller until shortly
// before it expires; concurrent callers never request two tokens at once;
// a 401 refreshes the token once and retries. Safe for concurrent use.
type Client struct {
	base   string
	id     Secret
	secret Secret
	http   *http.Client
	clock  Clock
	// gate, when set, is the rate limiter every request (token ones too)
	// waits on; it returns the slot the request uses.
	gate     func(ctx context.Context) (time.Time, error)
	gateOK   func(slot, now time.Time) bool
	onToken  func(outcome string)
	tokens   tokenCache
	trackURL string
}

// ClientOption configures a Client.
type ClientOption func(*Client)

// WithHTTPClient sets the HTTP client (its Timeout bounds each request).
func WithHTTPClient(h *http.Client) ClientOption { return func(c *Client) { c.http = h } }

// WithClientClock sets the clock token expiry is judged by.
func WithClientClock(clk Clock) ClientOption { return func(c *Client) { c.clock = clk } }

// WithTokenObserver is told the outcome of every token request ("ok",
// "error").
func WithTokenObserver(f func(outcome string)) ClientOption {
	return func(c *Client) { c.onToken = f }
}

func withGate(wait func(context.Context) (time.Time, error), valid func(slot, now time.Time) bool) ClientOption {
	return func(c *Client) { c.gate, c.gateOK = wait, valid }
}

// NewClient returns a client of the USPS API at baseURL
// ("https://apis.usps.com").
func NewClient(baseURL string, clientID, clientSecret Secret, opts ...ClientOption) *Client {
	c := &Client{
		base:   strings.TrimRight(baseURL, "/"),
		id:     clientID,
		secret: clientSecret,
		http:   &http.Client{Timeout: 30 * time.Second},
		clock:  SystemClock{},
	}
	for _, o := range opts {
		o(c)
	}
	c.trackURL = c.base + "/tracking/v3/tracking/"
	return c
}

// Response is a successful tracking answer.
type Response struct {
	Body []byte
}

// Track fetches the DETAIL response of a tracking number. A non-200
// answer is an *APIError wrapping ErrNotFound, ErrRateLimited,
// ErrUnavailable, ErrUnauthorized, ErrForbidden or ErrRejected; a
// transport failure wraps ErrUnavailable too.
func (c *Client) Track(ctx context.Context, number string) (*Response, error) {
	return c.track(ctx, number, time.Time{})
}

// track is Track with a rate-limit slot already taken for the first
// request (zero: take one).
func (c *Client) track(ctx context.Context, number string, slot time.Time) (*Response, error) {
	tok, err := c.token(ctx, "")
	if err != nil {
		return nil, err
	}
	resp, err := c.get(ctx, number, tok, slot)
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
		// The token expired early or was revoked: refresh it once (if
		// no concurrent caller already did) and retry once.
		if tok, err = c.token(ctx, tok); err != nil {
			return nil, err
		}
		resp, err = c.get(ctx, number, tok, time.Time{})
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized {
			apiErr.kind = ErrUnauthorized
		}
	}
	return resp, err
}

func (c *Client) get(ctx context.Context, number, tok string, slot time.Time) (*Response, error) {
	if err := c.await(ctx, slot); err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.trackURL+url.PathEscape(number)+"?expand=DETAIL", nil)
	if err != nil {
		return nil, fmt.Errorf("usps: tracking request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	status, h, body, err := c.do(req)
	if err != nil {
		return nil, err
	}
	if status == http.StatusOK {
		return &Response{Body: body}, nil
	}
	return nil, trackingError(status, h, body, c.clock.Now())
}

// await takes a rate-limit slot unless the caller holds one still valid.
func (c *Client) await(ctx context.Context, slot time.Time) error {
	if c.gate == nil {
		return nil
	}
	if !slot.IsZero() && c.gateOK(slot, c.clock.Now()) {
		return nil
	}
	_, err := c.gate(ctx)
	return err
}

func (c *Client) do(req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		if req.Context().Err() != nil {
			return 0, nil, nil, req.Context().Err()
		}
		// url.Error names the URL: the host and the tracking number, never a credential.
		return 0, nil, nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: reading the response: %v", ErrUnavailable, err)
	}
	if len(body) > maxBody {
		return 0, nil, nil, fmt.Errorf("%w: response over %d bytes", ErrUnavailable, maxBody)
	}
	return resp.StatusCode, resp.Header, body, nil
}

// trackingError classifies a tracking answer. The body is USPS's
// {apiVersion, error: {code, message, errors[]}}.
func trackingError(status int, h http.Header, body []byte, now time.Time) *APIError {
	e := &APIError{Op: "tracking", Status: status, RetryAfter: retryAfter(h.Get("Retry-After"), now)}
	var doc struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &doc) == nil && len(doc.Error) > 0 {
		var obj struct {
			Code    any    `json:"code"`
			Message string `json:"message"`
		}
		if json.Unmarshal(doc.Error, &obj) == nil {
			if obj.Code != nil {
				e.Code = fmt.Sprint(obj.Code)
			}
			e.Message = truncate(obj.Message, 200)
		} else {
			var s string
			_ = json.Unmarshal(doc.Error, &s)
			e.Code = truncate(s, 64)
		}
	}
	switch {
	case status == http.StatusNotFound:
		e.kind = ErrNotFound
	case status == http.StatusTooManyRequests:
		e.kind = ErrRateLimited
	case status == http.StatusUnauthorized:
		e.kind = ErrUnauthorized
	case status == http.StatusForbidden:
		e.kind = ErrForbidden
	case status >= 500:
		e.kind = ErrUnavailable
	default:
		e.kind = ErrRejected
	}
	return e
}

// retryAfter reads Retry-After as seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tokenCache is the one access token of a Client and the request in
// flight for a new one, if any.
type tokenCache struct {
	mu        sync.Mutex
	token     string
	refreshAt time.Time
	call      *tokenCall
}

// tokenCall is one token request; concurrent callers wait on it instead
// of making their own.
type tokenCall struct {
	done  chan struct{}
	token string
	err   error
}

// token returns the cached token, or fetches one when there is none, it
// is about to expire, or it is stale (the token a 401 was just answered
// with; if another caller has already replaced it, the new one is used).
func (c *Client) token(ctx context.Context, stale string) (string, error) {
	for {
		c.tokens.lock()
		if c.tokens.token != "" && c.tokens.token != stale && c.clock.Now().Before(c.tokens.refreshAt) {
			tok := c.tokens.token
			c.tokens.unlock()
			return tok, nil
		}
		if call := c.tokens.call; call != nil {
			c.tokens.unlock()
			select {
			case <-call.done:
			case <-ctx.Done():
				return "", ctx.Err()
			}
			if call.err != nil && (errors.Is(call.err, context.Canceled) || errors.Is(call.err, context.DeadlineExceeded)) {
				continue // the caller that fetched gave up; this one has not
			}
			if call.err != nil {
				return "", call.err
			}
			if call.token != stale {
				return call.token, nil
			}
			continue
		}
		call := &tokenCall{done: make(chan struct{})}
		c.tokens.call = call
		c.tokens.unlock()

		tok, ttl, err := c.fetchToken(ctx)
		c.tokens.lock()
		if err == nil {
			c.tokens.token = tok
			c.tokens.refreshAt = c.clock.Now().Add(ttl - refreshSkew(ttl))
		}
		call.token, call.err = tok, err
		c.tokens.call = nil
		close(call.done)
		c.tokens.unlock()
		if c.onToken != nil {
			outcome := "ok"
			if err != nil {
				outcome = "error"
			}
			c.onToken(outcome)
		}
		return tok, err
	}
}

func (m *tokenCache) lock()   { m.mu.Lock() }
func (m *tokenCache) unlock() { m.mu.Unlock() }

// refreshSkew is how long before its expiry a token is replaced: a
// minute, or a tenth of a short lifetime.
func refreshSkew(ttl time.Duration) time.Duration { return min(time.Minute, ttl/10) }

// defaultTokenTTL is assumed when a token answer has no expires_in.
const defaultTokenTTL = time.Hour

// fetchToken is POST /oauth2/v3/token, the client-credentials grant.
// USPS documents a JSON body; scope narrows the token to tracking.
func (c *Client) fetchToken(ctx context.Context) (string, time.Duration, error) {
	if err := c.await(ctx, time.Time{}); err != nil {
		return "", 0, err
	}
	body, err := json.Marshal(map[string]string{
		"grant_type": "client_credentials", "client_id": string(c.id), "client_secret": string(c.secret), "scope": "tracking",
	})
	if err != nil {
		return "", 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/oauth2/v3/token", bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("usps: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	status, h, respBody, err := c.do(req)
	if err != nil {
		return "", 0, err
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       any             `json:"error"`
	}
	decodeErr := json.Unmarshal(respBody, &tr)
	if status != http.StatusOK || tr.AccessToken == "" {
		e := trackingError(status, h, nil, c.clock.Now())
		e.Op = "token"
		if s, ok := tr.Error.(string); ok {
			e.Code = truncate(s, 64) // "invalid_client"; the description is left out
		}
		switch {
		case status == http.StatusOK:
			e.kind, e.Message = ErrUnavailable, "answer without access_token"
		case status == http.StatusBadRequest || status == http.StatusUnauthorized:
			e.kind = ErrUnauthorized // invalid_client, invalid_grant
		}
		return "", 0, e
	}
	if decodeErr != nil {
		return "", 0, fmt.Errorf("%w: token answer: %v", ErrUnavailable, decodeErr)
	}
	return tr.AccessToken, expiresIn(tr.ExpiresIn), nil
}

// expiresIn reads expires_in, which USPS sends as a number or a string
// ("3600", 28799).
func expiresIn(raw json.RawMessage) time.Duration {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || f <= 0 {
		return defaultTokenTTL
	}
	return time.Duration(f * float64(time.Second))
}
