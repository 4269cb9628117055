package app

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/fake"
)

// fakeDir is a TEST AID: it feeds the fake trigger type from files so a test can
// drive a surge-scaler process from outside (fault tests: SIGKILL and restart,
// leader election, benchmarks). Each regular file in dir names a fake; its content is
// a number, or "error: <message>" to make that fake fail. Write a file elsewhere in
// dir (e.g. ".name") and rename it into place: the directory is re-read only when
// its modification time changes, so thousands of fakes cost nothing while idle.
type fakeDir struct {
	dir     string
	src     *fake.Source
	log     logr.Logger
	lastMod time.Time
}

// Start reads the directory every 100 ms until ctx ends.
func (f *fakeDir) Start(ctx context.Context) error {
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		f.load()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// NeedLeaderElection is false: every replica reads the same files.
func (f *fakeDir) NeedLeaderElection() bool { return false }

func (f *fakeDir) load() {
	st, err := os.Stat(f.dir)
	if err != nil {
		f.log.V(1).Info("cannot stat the fake trigger directory", "err", err.Error())
		return
	}
	if st.ModTime().Equal(f.lastMod) && time.Since(st.ModTime()) > time.Second {
		return // unchanged (a change within the last second is re-read: coarse mtimes)
	}
	f.lastMod = st.ModTime()
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		f.log.V(1).Info("cannot read the fake trigger directory", "err", err.Error())
		return
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(f.dir, e.Name()))
		if err != nil {
			continue
		}
		applyFake(f.src, e.Name(), string(b))
	}
}

// applyFake sets one fake from a file's content; content that is neither a number
// nor an error line is ignored (a file being written).
func applyFake(src *fake.Source, name, content string) {
	s := strings.TrimSpace(content)
	if msg, ok := strings.CutPrefix(s, "error:"); ok {
		src.SetError(name, errors.New(strings.TrimSpace(msg)))
		return
	}
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		src.Set(name, v)
	}
}
