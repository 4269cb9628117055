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
// leader election). Each regular file in dir names a fake; its content is a number,
// or "error: <message>" to make that fake fail.
type fakeDir struct {
	dir string
	src *fake.Source
	log logr.Logger
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
