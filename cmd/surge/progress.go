package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/surge-autoscaler/surge/bench/watch"
)

// progressView shows the run's live state: on a terminal one line rewritten in
// place, otherwise a line every period when something changed. It is also the run's
// log writer, so step lines do not collide with the live line.
type progressView struct {
	w      io.Writer
	tty    bool
	period time.Duration

	mu       sync.Mutex
	lastLine string
	lastAt   time.Time
	live     bool // a live line is on screen
}

func newProgressView(w io.Writer, period time.Duration) *progressView {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	if period <= 0 {
		period = 2 * time.Second
		if tty {
			period = 0
		}
	}
	return &progressView{w: w, tty: tty, period: period}
}

// formatProgress renders one progress line.
func formatProgress(phase string, p watch.Progress) string {
	depth := "-"
	if p.Depth >= 0 {
		depth = fmt.Sprint(p.Depth)
	}
	desired := "-"
	if p.Desired >= 0 {
		desired = fmt.Sprint(p.Desired)
	}
	done := fmt.Sprint(p.Done)
	if p.Published > 0 {
		done = fmt.Sprintf("%d/%d", p.Done, p.Published)
	}
	stopping := ""
	if p.Terminating > 0 {
		stopping = fmt.Sprintf(", stopping %d", p.Terminating)
	}
	return fmt.Sprintf("[%7.1fs] %-44s queue %5s │ desired %4s │ pods %4d, Running %4d%s │ done %s",
		p.Elapsed.Seconds(), phase, depth, desired, p.Pods, p.Running, stopping, done)
}

// update is the run's Progress callback.
func (v *progressView) update(phase string, p watch.Progress) {
	line := formatProgress(phase, p)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tty && v.period == 0 {
		fmt.Fprintf(v.w, "\r\033[K%s", line)
		v.live = true
		return
	}
	// Without a terminal: print when the state changed (ignoring the clock) and the
	// period passed.
	key := line[strings.IndexByte(line, ']')+1:]
	if key == v.lastLine || time.Since(v.lastAt) < v.period {
		return
	}
	v.lastLine, v.lastAt = key, time.Now()
	fmt.Fprintln(v.w, line)
}

// Write prints a log line above the live line.
func (v *progressView) Write(b []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.live {
		fmt.Fprint(v.w, "\r\033[K")
		v.live = false
	}
	return v.w.Write(b)
}

// finish ends the live line.
func (v *progressView) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.live {
		fmt.Fprintln(v.w)
		v.live = false
	}
}
