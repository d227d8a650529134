package ingress

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"
)

// oauthClient is a source that authenticates with OAuth2 client credentials
// (Carriyo: "an OAuth2 client Carriyo can fetch a token from"). waybill is
// the authorization server: POST /oauth/token issues short-lived tokens that
// the webhook then carries as Authorization: Bearer.
//
// Tokens are self-contained (expiry + MAC), keyed by a key derived from the
// client secret, so any ingress replica verifies a token another issued and
// nothing is stored. Rotating the secret revokes every token.
type oauthClient struct {
	id         string
	secretHash [32]byte
	key        []byte
	now        func() time.Time
}

func newOAuthClient(id, secret string) *oauthClient {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("waybill oauth2 token key v1"))
	return &oauthClient{id: id, secretHash: digest([]byte(secret)), key: mac.Sum(nil), now: time.Now}
}

func (c *oauthClient) Scheme() string { return "oauth2" }

// Check accepts a bearer token this client's key signed that has not expired.
func (c *oauthClient) Check(header func(string) []byte, _ []byte) error {
	tok, ok := bearerToken(header)
	if !ok {
		return fmt.Errorf("%w: bearer token missing", ErrUnauthorized)
	}
	raw := make([]byte, base64.RawURLEncoding.DecodedLen(len(tok)))
	n, err := base64.RawURLEncoding.Decode(raw, tok)
	if err != nil || n != 8+sha256.Size {
		return fmt.Errorf("%w: malformed token", ErrUnauthorized)
	}
	exp, sig := raw[:8], raw[8:n]
	if !hmac.Equal(sig, c.sign(exp)) {
		return fmt.Errorf("%w: token not issued by this server", ErrUnauthorized)
	}
	if c.now().Unix() >= int64(binary.BigEndian.Uint64(exp)) {
		return fmt.Errorf("%w: token expired", ErrUnauthorized)
	}
	return nil
}

// authenticate checks client credentials at the token endpoint.
func (c *oauthClient) authenticate(id, secret string) bool {
	idOK := hmac.Equal([]byte(id), []byte(c.id))
	return equal([]byte(secret), c.secretHash) && idOK
}

// issue returns a token valid for ttl.
func (c *oauthClient) issue(ttl time.Duration) string {
	var exp [8]byte
	binary.BigEndian.PutUint64(exp[:], uint64(c.now().Add(ttl).Unix()))
	return base64.RawURLEncoding.EncodeToString(append(exp[:], c.sign(exp[:])...))
}

func (c *oauthClient) sign(exp []byte) []byte {
	mac := hmac.New(sha256.New, c.key)
	mac.Write([]byte(c.id))
	mac.Write(exp)
	return mac.Sum(nil)
}
