package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// followPoll is how often a followed log is checked for new data.
const followPoll = 100 * time.Millisecond

// Logs streams a container's log file (stdout and stderr, interleaved as written,
// across restarts). Tail counts lines from the end. Follow keeps the stream open,
// polling for new data, until ctx ends or the instance is deleted. Timestamps is
// not supported: processes write straight to the file (so a restarted surge-vnode
// loses nothing), and no one stamps the lines.
func (b *Backend) Logs(ctx context.Context, ref providers.InstanceRef, container string, o providers.LogOptions) (io.ReadCloser, error) {
	b.mu.Lock()
	in, ok := b.instances[ref.UID]
	b.mu.Unlock()
	if !ok {
		return nil, providers.NewError(providers.KindNotFound,
			fmt.Errorf("local backend: no instance for pod %s/%s", ref.Namespace, ref.Name))
	}
	known := false
	for _, c := range in.st.Spec.Containers { // Spec is immutable after creation
		known = known || c.Name == container
	}
	if !known {
		return nil, providers.NewError(providers.KindNotFound,
			fmt.Errorf("local backend: pod %s/%s has no container %q", ref.Namespace, ref.Name, container))
	}
	f, err := os.Open(logPath(in.dir, container))
	if errors.Is(err, os.ErrNotExist) {
		if !o.Follow {
			return io.NopCloser(bytes.NewReader(nil)), nil
		}
		f, err = waitForFile(ctx, logPath(in.dir, container))
	}
	if err != nil {
		return nil, fmt.Errorf("local backend: open log: %w", err)
	}
	if o.Tail > 0 {
		off, err := tailOffset(f, o.Tail)
		if err == nil {
			_, err = f.Seek(off, io.SeekStart)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("local backend: seek log: %w", err)
		}
	}
	if !o.Follow {
		return f, nil
	}
	return &follower{ctx: ctx, f: f, in: in}, nil
}

func waitForFile(ctx context.Context, path string) (*os.File, error) {
	t := time.NewTicker(followPoll)
	defer t.Stop()
	for {
		f, err := os.Open(path)
		if !errors.Is(err, os.ErrNotExist) {
			return f, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// tailOffset returns the offset where the last n lines of f begin.
func tailOffset(f *os.File, n int) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	pos := end
	lines := 0
	first := true
	for pos > 0 {
		size := min(int64(chunk), pos)
		pos -= size
		if _, err := f.ReadAt(buf[:size], pos); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		for i := size - 1; i >= 0; i-- {
			if buf[i] != '\n' {
				first = false
				continue
			}
			if first && pos+i == end-1 {
				first = false
				continue // the newline ending the last line
			}
			lines++
			if lines == n {
				return pos + i + 1, nil
			}
		}
	}
	return 0, nil
}

// follower reads a log file and waits for more at EOF.
type follower struct {
	ctx context.Context
	f   *os.File
	in  *instance
}

func (r *follower) Read(p []byte) (int, error) {
	for {
		n, err := r.f.Read(p)
		if n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
			return n, err
		}
		r.in.mu.Lock()
		gone := r.in.removed
		r.in.mu.Unlock()
		if gone {
			return 0, io.EOF
		}
		select {
		case <-r.ctx.Done():
			return 0, io.EOF
		case <-time.After(followPoll):
		}
	}
}

func (r *follower) Close() error { return r.f.Close() }
