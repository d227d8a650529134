package console

import (
	"encoding/json"
	"mime"
	"net/http"
)

// maxLoginBody bounds a login request: a token and some JSON around it.
const maxLoginBody = 4 << 10

// login exchanges the token for a session cookie: POST /api/v1/session
// with {"token": "..."} as JSON or token=... as a form.
func (s *server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	var token string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		if err := r.ParseForm(); err != nil {
			writeError(w, http.StatusBadRequest, "token", "the form could not be read")
			return
		}
		token = r.PostForm.Get("token")
	default:
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			writeError(w, http.StatusBadRequest, "token", `the body must be {"token": "..."} (JSON) or token=... (form)`)
			return
		}
		token = body.Token
	}
	if token == "" || !s.keys.tokenOK(token) {
		writeError(w, http.StatusUnauthorized, "token", "wrong token")
		return
	}
	expires := s.now().Add(s.cfg.SessionTTL)
	http.SetCookie(w, sessionCookie(s.keys.newSession(expires), expires, s.cfg.SessionTTL, secureRequest(r)))
	w.WriteHeader(http.StatusNoContent)
}

// logout clears the session cookie.
func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, sessionCookie("", s.now(), 0, secureRequest(r)))
	w.WriteHeader(http.StatusNoContent)
}
