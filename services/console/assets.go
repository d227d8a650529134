package console

import (
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/waybill-dev/waybill/services/console/web"
)

// contentSecurityPolicy lets the page load only its own scripts, styles and
// images and talk only to its own origin: an injected string in a shipment's
// message or a dead letter's body can never run as script.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// assets serves the web console. The files hold no data (the page calls
// the API, which asks for the token), so they are served without
// authentication. A path that names no file and has no extension is a
// client-side route (/shipments/ups/1Z..., /deadletters/12, /live): it gets
// index.html and the page routes itself.
func assets() http.Handler {
	files := web.FS()
	fileServer := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("Cache-Control", "no-cache")
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "" || name == "index.html" {
			serveIndex(w, r, files)
			return
		}
		if st, err := fs.Stat(files, name); err == nil && !st.IsDir() {
			fileServer.ServeHTTP(w, r)
			return
		}
		if path.Ext(name) != "" {
			http.NotFound(w, r) // a missing asset, not a page: never answer it with HTML
			return
		}
		serveIndex(w, r, files)
	})
}

func serveIndex(w http.ResponseWriter, r *http.Request, files fs.FS) {
	b, err := fs.ReadFile(files, "index.html")
	if err != nil {
		http.Error(w, "web console assets missing", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}
