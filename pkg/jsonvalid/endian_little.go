//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package jsonvalid

// bigEndian is whether words are stored most significant byte first (load
// then swaps them, so that the first byte is always the lowest).
const bigEndian = false
