package ingress

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrUnauthorized classifies a webhook whose credentials are missing or wrong.
var ErrUnauthorized = errors.New("unauthorized")

// Authenticator checks one source's credentials. header returns a request
// header's raw value (nil when absent). Implementations compare in constant
// time and are safe for concurrent use.
type Authenticator interface {
	Check(header func(name string) []byte, body []byte) error
	// Scheme names the scheme for logs ("hmac-sha256"), never the secret.
	Scheme() string
}

// ParseAuth reads a WAYBILL_AUTH_<SOURCE> value:
//
//	header:<Name>:<value>       a fixed header (Carriyo's X-API-Key)
//	bearer:<token>              Authorization: Bearer <token> (SwiftPOD)
//	hmac-sha256:<Header>:<secret>  base64 HMAC-SHA256 of the raw body (AfterShip/Wineshipping)
//	oauth2:<client_id>:<client_secret>  tokens issued by POST /oauth/token (Carriyo)
//
// Errors never quote the secret.
func ParseAuth(spec string) (Authenticator, error) {
	scheme, rest, _ := strings.Cut(spec, ":")
	switch scheme {
	case "header":
		name, value, ok := strings.Cut(rest, ":")
		if !ok || name == "" || value == "" {
			return nil, errors.New("want header:<Name>:<value>")
		}
		return headerAuth{name: name, want: digest([]byte(value))}, nil
	case "bearer":
		if rest == "" {
			return nil, errors.New("want bearer:<token>")
		}
		return bearerAuth{want: digest([]byte(rest))}, nil
	case "hmac-sha256":
		name, secret, ok := strings.Cut(rest, ":")
		if !ok || name == "" || secret == "" {
			return nil, errors.New("want hmac-sha256:<Header>:<secret>")
		}
		return hmacAuth{name: name, secret: []byte(secret)}, nil
	case "oauth2":
		id, secret, ok := strings.Cut(rest, ":")
		if !ok || id == "" || secret == "" {
			return nil, errors.New("want oauth2:<client_id>:<client_secret>")
		}
		return newOAuthClient(id, secret), nil
	}
	// The scheme is not quoted: a value without one may be a bare secret.
	return nil, errors.New("unknown auth scheme: want header:, bearer:, hmac-sha256: or oauth2:")
}

// digest hashes a credential so comparisons take the same time whatever
// the lengths (subtle.ConstantTimeCompare returns early on a length mismatch,
// which would leak the secret's length).
func digest(b []byte) [32]byte { return sha256.Sum256(b) }

func equal(got []byte, want [32]byte) bool {
	d := digest(got)
	return subtle.ConstantTimeCompare(d[:], want[:]) == 1
}

type headerAuth struct {
	name string
	want [32]byte
}

func (a headerAuth) Scheme() string { return "header" }
func (a headerAuth) Check(header func(string) []byte, _ []byte) error {
	if v := header(a.name); v != nil && equal(v, a.want) {
		return nil
	}
	return fmt.Errorf("%w: header %s missing or wrong", ErrUnauthorized, a.name)
}

type bearerAuth struct{ want [32]byte }

func (a bearerAuth) Scheme() string { return "bearer" }
func (a bearerAuth) Check(header func(string) []byte, _ []byte) error {
	if tok, ok := bearerToken(header); ok && equal(tok, a.want) {
		return nil
	}
	return fmt.Errorf("%w: bearer token missing or wrong", ErrUnauthorized)
}

func bearerToken(header func(string) []byte) ([]byte, bool) {
	v := header("Authorization")
	if len(v) < 7 || !bytes.EqualFold(v[:7], []byte("bearer ")) {
		return nil, false
	}
	return bytes.TrimSpace(v[7:]), true
}

type hmacAuth struct {
	name   string
	secret []byte
}

func (a hmacAuth) Scheme() string { return "hmac-sha256" }
func (a hmacAuth) Check(header func(string) []byte, body []byte) error {
	got := header(a.name)
	if got == nil {
		return fmt.Errorf("%w: signature header %s missing", ErrUnauthorized, a.name)
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(body)
	var want [44]byte // base64 of a 32-byte MAC
	base64.StdEncoding.Encode(want[:], mac.Sum(nil))
	if !hmac.Equal(bytes.TrimSpace(got), want[:]) {
		return fmt.Errorf("%w: signature in %s does not match the body", ErrUnauthorized, a.name)
	}
	return nil
}

// Sign computes the hmac-sha256 scheme's header value for body: what a
// provider sends, for tests, the demo and the load generator.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
