package aci

import (
	"context"
	"io"
	"strings"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

// Logs returns a container's log through ACI's log API, which returns a snapshot
// (the last 4 MB at most). With opts.Follow the snapshot is re-read every
// Options.LogFollowInterval and what was appended is streamed; should ACI have cut
// the log's head meanwhile, the whole new snapshot is sent again. The stream ends
// when ctx ends, the reader is closed, the backend is closed or the group is gone.
func (b *Backend) Logs(ctx context.Context, ref providers.InstanceRef, container string, opts providers.LogOptions) (io.ReadCloser, error) {
	name := GroupName(ref)
	fetch := func(ctx context.Context, tail int) (string, error) {
		if err := b.bo.check(); err != nil {
			return "", err
		}
		o := &armaci.ContainersClientListLogsOptions{Timestamps: ptr(opts.Timestamps)}
		if tail > 0 {
			o.Tail = ptr(int32(min(tail, 1<<30)))
		}
		resp, err := b.ctrs.ListLogs(ctx, b.set.group, name, container, o)
		if err != nil {
			return "", b.observe(classify("logs", name, err))
		}
		return deref(resp.Content), nil
	}
	if !opts.Follow {
		content, err := fetch(ctx, opts.Tail)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader(content)), nil
	}
	seen, err := fetch(ctx, 0)
	if err != nil {
		return nil, err
	}
	pr, pw := io.Pipe()
	fctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(b.bg, cancel)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer stop()
		defer cancel()
		if _, err := io.WriteString(pw, lastLines(seen, opts.Tail)); err != nil {
			return
		}
		for b.sleep(fctx, b.opts.LogFollowInterval) {
			full, err := fetch(fctx, 0)
			switch {
			case providers.IsNotFound(err):
				pw.Close()
				return
			case err != nil:
				continue
			}
			next := full
			if strings.HasPrefix(full, seen) {
				next = full[len(seen):]
			}
			seen = full
			if _, err := io.WriteString(pw, next); err != nil {
				return
			}
		}
		pw.CloseWithError(fctx.Err())
	}()
	return &followReader{PipeReader: pr, cancel: cancel}, nil
}

// followReader stops the follow goroutine when closed.
type followReader struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (r *followReader) Close() error {
	r.cancel()
	return r.PipeReader.Close()
}

// lastLines returns the last n lines of s (all of s if n <= 0).
func lastLines(s string, n int) string {
	if n <= 0 {
		return s
	}
	end := len(s)
	if strings.HasSuffix(s, "\n") {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if s[i] == '\n' {
			if n--; n == 0 {
				return s[i+1:]
			}
		}
	}
	return s
}
