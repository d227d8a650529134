package ingress

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// token is POST /oauth/token, the RFC 6749 client-credentials grant (section
// 4.4) for sources configured with oauth2:<client_id>:<client_secret>.
// Credentials come as HTTP Basic (section 2.3.1, preferred) or as
// client_id/client_secret form fields; a JSON body is accepted too because
// some webhook senders post JSON to token endpoints.
func (in *Ingress) token(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Pragma", "no-cache")
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		oauthError(ctx, fasthttp.StatusMethodNotAllowed, "invalid_request", "use POST")
		return
	}
	form := url.Values{}
	ct := string(ctx.Request.Header.ContentType())
	switch {
	case strings.HasPrefix(ct, "application/json"):
		var m map[string]string
		if err := json.Unmarshal(ctx.PostBody(), &m); err != nil {
			oauthError(ctx, fasthttp.StatusBadRequest, "invalid_request", "body is not a JSON object of strings")
			return
		}
		for k, v := range m {
			form.Set(k, v)
		}
	default:
		var err error
		if form, err = url.ParseQuery(string(ctx.PostBody())); err != nil {
			oauthError(ctx, fasthttp.StatusBadRequest, "invalid_request", "malformed form body")
			return
		}
	}
	if gt := form.Get("grant_type"); gt != "client_credentials" {
		oauthError(ctx, fasthttp.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
		return
	}
	id, secret, basic := basicAuth(ctx.Request.Header.Peek("Authorization"))
	if !basic {
		id, secret = form.Get("client_id"), form.Get("client_secret")
	}
	client, ok := in.oauth[id]
	if !ok || !client.authenticate(id, secret) {
		in.log.Warn().Bool("basic", basic).Msg("oauth token request with bad client credentials")
		if basic {
			ctx.Response.Header.Set("WWW-Authenticate", `Basic realm="waybill"`)
		}
		oauthError(ctx, fasthttp.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	b, _ := json.Marshal(map[string]any{
		"access_token": client.issue(in.cfg.TokenTTL),
		"token_type":   "Bearer",
		"expires_in":   int(in.cfg.TokenTTL.Seconds()),
	})
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

func oauthError(ctx *fasthttp.RequestCtx, code int, kind, desc string) {
	b, _ := json.Marshal(map[string]string{"error": kind, "error_description": desc})
	ctx.SetContentType("application/json")
	ctx.SetStatusCode(code)
	ctx.SetBody(b)
}

// basicAuth decodes "Basic base64(id:secret)"; RFC 6749 2.3.1 form-encodes
// both parts before base64.
func basicAuth(v []byte) (id, secret string, ok bool) {
	const prefix = "basic "
	if len(v) < len(prefix) || !strings.EqualFold(string(v[:len(prefix)]), prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(v[len(prefix):])))
	if err != nil {
		return "", "", false
	}
	i, s, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", false
	}
	if u, err := url.QueryUnescape(i); err == nil {
		i = u
	}
	if u, err := url.QueryUnescape(s); err == nil {
		s = u
	}
	return i, s, true
}
