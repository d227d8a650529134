package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// SessionCookie is the name of the web console's session cookie.
const SessionCookie = "waybill_session"

// keys are derived from the token, each for one purpose, so every replica
// configured with the same token accepts the others' cookies and cursors,
// and changing the token ends every session and invalidates every cursor.
type keys struct {
	tokenHash [32]byte // sha256 of the token: what a presented token is compared with
	session   []byte   // signs session cookies
	cursor    []byte   // signs pagination cursors
}

func deriveKeys(token string) keys {
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, []byte(token))
		m.Write([]byte("waybill console " + purpose + " key v1"))
		return m.Sum(nil)
	}
	return keys{tokenHash: sha256.Sum256([]byte(token)), session: derive("session"), cursor: derive("cursor")}
}

// tokenOK compares a presented token with the configured one in constant
// time, also constant in their lengths (hashes of both are compared).
func (k keys) tokenOK(presented string) bool {
	h := sha256.Sum256([]byte(presented))
	return subtle.ConstantTimeCompare(h[:], k.tokenHash[:]) == 1
}

// newSession returns a cookie value valid until expires: the expiry and an
// HMAC of it. Nothing is stored, so any replica checks it; the price is
// that a logout cannot revoke a copied cookie before it expires (changing
// the token revokes all of them).
func (k keys) newSession(expires time.Time) string {
	var b [8 + sha256.Size]byte
	binary.BigEndian.PutUint64(b[:8], uint64(expires.Unix()))
	m := hmac.New(sha256.New, k.session)
	m.Write(b[:8])
	copy(b[8:], m.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// sessionOK reports whether value is a session this token signed that has
// not expired at now.
func (k keys) sessionOK(value string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) != 8+sha256.Size {
		return false
	}
	m := hmac.New(sha256.New, k.session)
	m.Write(b[:8])
	if !hmac.Equal(m.Sum(nil), b[8:]) {
		return false
	}
	return now.Unix() < int64(binary.BigEndian.Uint64(b[:8]))
}

// authMethod is how a request authenticated.
type authMethod int

const (
	authNone authMethod = iota
	authBearer
	authCookie
)

// authenticate reads the bearer token or, failing that, the session cookie.
func (k keys) authenticate(r *http.Request, now time.Time) authMethod {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") && k.tokenOK(strings.TrimSpace(token)) {
			return authBearer
		}
		return authNone // a wrong bearer token is not rescued by a cookie
	}
	if c, err := r.Cookie(SessionCookie); err == nil && k.sessionOK(c.Value, now) {
		return authCookie
	}
	return authNone
}

// sameOrigin reports whether the request's Origin header names the host the
// request was sent to. Behind a proxy that rewrites Host, the proxy must
// pass the original Host through (as reverse proxies do by default).
func sameOrigin(r *http.Request) bool {
	u, err := url.Parse(r.Header.Get("Origin"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return false // includes "null" (sandboxed frames, file://)
	}
	return strings.EqualFold(u.Host, r.Host)
}

// originAllowed is the cross-site request check of state-changing requests:
// a browser always sends Origin on a cross-origin POST or DELETE, so a
// request with an Origin must come from the console's own origin, and one
// without an Origin (curl, scripts) must carry the bearer token: a cookie
// alone is never enough.
func originAllowed(r *http.Request, m authMethod) bool {
	if r.Header.Get("Origin") != "" {
		return sameOrigin(r)
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return false
	}
	return m == authBearer
}

// secureRequest reports whether the client reached us over TLS, directly
// or through a proxy that says so: the session cookie is then Secure.
func secureRequest(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

// sessionCookie is the session cookie holding value for ttl, or the
// deletion of it when value is empty.
func sessionCookie(value string, expires time.Time, ttl time.Duration, secure bool) *http.Cookie {
	c := &http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure,
	}
	if value == "" {
		c.MaxAge = -1 // delete
	} else {
		c.Expires = expires
		c.MaxAge = int(ttl.Seconds())
	}
	return c
}
