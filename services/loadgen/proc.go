package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procCPU is a process's user+system CPU time.
func procCPU(pid int) time.Duration {
	user, sys := procTimes(pid)
	return user + sys
}

// procTimes is a process's user and system CPU time from /proc/<pid>/stat
// (zero when it cannot be read).
func procTimes(pid int) (user, sys time.Duration) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// Fields after the command name (which may contain spaces) in parens.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	if len(f) < 13 {
		return 0, 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	const hz = 100 // USER_HZ on Linux
	return time.Duration(ut) * time.Second / hz, time.Duration(st) * time.Second / hz
}

// procRSS is a process's peak resident set size (VmHWM) in bytes.
func procRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			kb, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "model name") {
				model = strings.TrimSpace(strings.SplitN(line, ":", 2)[1])
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s", model, runtime.NumCPU(), runtime.Version())
}

func hmacSign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// repoRoot finds the directory holding go.work, from the working directory up.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.work above the working directory: run from the repository")
		}
		dir = parent
	}
}

// profileServices saves a CPU profile and an execution trace of each
// service, taken at the same time over d, to dir as <name>.cpu.pprof and
// <name>.trace (the services serve /debug/pprof/, WAYBILL_PPROF=true).
// Where an event spends its time between hops shows in the traces:
// `go tool trace -pprof=sync|net|syscall <name>.trace`.
func profileServices(dir string, svcs []*service, d time.Duration) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		logf("profile: %v", err)
		return
	}
	secs := max(int(d.Seconds()), 1)
	var wg sync.WaitGroup
	for _, s := range svcs {
		for kind, file := range map[string]string{"profile": s.name + ".cpu.pprof", "trace": s.name + ".trace"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				url := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", s.addr, kind, secs)
				if err := fetchDebug(url, d+30*time.Second, filepath.Join(dir, file)); err != nil {
					logf("profile %s: %v", s.name, err)
				}
			}()
		}
	}
	// This process too: the embedded JetStream server and the clients.
	if err := profileSelf(dir, d); err != nil {
		logf("profile %s: %v", selfName, err)
	}
	wg.Wait()
	logf("profile: CPU profiles and traces of %d services and this process in %s", len(svcs), dir)
}

func profileSelf(dir string, d time.Duration) error {
	cpuFile, err := os.Create(filepath.Join(dir, "loadgen.cpu.pprof"))
	if err != nil {
		return err
	}
	defer cpuFile.Close()
	traceFile, err := os.Create(filepath.Join(dir, "loadgen.trace"))
	if err != nil {
		return err
	}
	defer traceFile.Close()
	if err := pprof.StartCPUProfile(cpuFile); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	if err := trace.Start(traceFile); err != nil {
		return err
	}
	defer trace.Stop()
	time.Sleep(d)
	return nil
}
