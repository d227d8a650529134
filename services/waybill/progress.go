package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress draws a progress bar on a terminal (redrawn in place five
// times a second), or a plain line every few seconds when the output is
// not one (a log, a CI job). Set may be called from any goroutine.
type progress struct {
	w     io.Writer
	label string
	tty   bool

	mu          sync.Mutex
	done, total uint64
	start, last time.Time
	drawn       bool

	stop chan struct{}
	wg   sync.WaitGroup
}

// newProgress starts drawing to w; nil w draws nothing.
func newProgress(w io.Writer, label string, tty bool) *progress {
	p := &progress{w: w, label: label, tty: tty, start: time.Now(), stop: make(chan struct{})}
	if w == nil {
		return p
	}
	every := 200 * time.Millisecond
	if !tty {
		every = 5 * time.Second
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.draw(false)
			}
		}
	}()
	return p
}

// Set records how far the work is: done of total (0: not known yet).
func (p *progress) Set(done, total uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done, p.total = done, total
}

// Finish stops drawing and leaves the final state on its own line.
func (p *progress) Finish() {
	close(p.stop)
	p.wg.Wait()
	if p.w != nil {
		p.draw(true)
	}
}

func (p *progress) draw(final bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !final && p.done == 0 && p.total == 0 {
		return
	}
	elapsed := time.Since(p.start)
	rate := float64(p.done) / max(elapsed.Seconds(), 1e-3)
	line := fmt.Sprintf("%s %d", p.label, p.done)
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		const width = 30
		fill := int(frac * width)
		line = fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d", p.label,
			strings.Repeat("=", fill), strings.Repeat(" ", width-fill), 100*frac, p.done, p.total)
	}
	line += fmt.Sprintf("  %.0f/s  %s", rate, elapsed.Round(100*time.Millisecond))
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		if final {
			fmt.Fprintln(p.w)
		}
	case final && !p.drawn && p.done == 0:
		// Nothing happened: say nothing.
	default:
		fmt.Fprintln(p.w, line)
	}
	p.drawn = true
}

// isTerminal reports whether f is a character device (a terminal).
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
