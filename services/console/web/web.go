// Package web holds the console's browser assets: plain HTML, CSS and
// JavaScript embedded in the binary, so `make build` needs no Node
// toolchain and the console is one file to deploy.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// FS is the asset tree served at the console's root (index.html first).
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed pattern above guarantees the directory
	}
	return sub
}
