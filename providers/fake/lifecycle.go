package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// maxSteps bounds the events one advance call replays, so a Behavior with a tiny
// ExitAfter and restarts cannot spin.
const maxSteps = 10_000

type container struct {
	name       string
	state      providers.ContainerState
	reason     string
	exitCode   int32
	startedAt  time.Time
	finishedAt time.Time
	restarts   int32
	nextStart  time.Time // set while waiting for a restart
	log        []string
}

// instance is the fake's record of one instance. Its lifecycle is replayed lazily
// up to the clock's now whenever the fake looks at it.
type instance struct {
	spec       *providers.InstanceSpec
	bh         Behavior
	created    time.Time
	phase      providers.Phase
	reason     string
	message    string
	started    time.Time
	containers []*container
}

func newInstance(spec *providers.InstanceSpec, bh Behavior, now time.Time) *instance {
	in := &instance{spec: spec, bh: bh, created: now, phase: providers.PhasePending}
	for _, c := range spec.Containers {
		in.containers = append(in.containers, &container{name: c.Name, state: providers.ContainerWaiting, reason: "ContainerCreating"})
	}
	return in
}

func (in *instance) advance(now time.Time) {
	if in.phase == providers.PhasePending {
		t0 := in.created.Add(in.bh.StartAfter)
		if now.Before(t0) {
			return
		}
		if in.bh.FailReason != "" {
			in.phase, in.reason = providers.PhaseFailed, in.bh.FailReason
			in.message = "fake: instance failed to start: " + in.bh.FailReason
			for _, c := range in.containers {
				c.reason = in.bh.FailReason
			}
			return
		}
		in.phase, in.started = providers.PhaseRunning, t0
		for _, c := range in.containers {
			in.start(c, t0)
		}
	}
	for _, c := range in.containers {
		for range maxSteps {
			switch {
			case c.state == providers.ContainerRunning && in.bh.ExitAfter > 0 && !now.Before(c.startedAt.Add(in.bh.ExitAfter)):
				in.exit(c, c.startedAt.Add(in.bh.ExitAfter), in.bh.ExitCode)
				continue
			case c.state == providers.ContainerWaiting && !c.nextStart.IsZero() && !now.Before(c.nextStart):
				c.restarts++
				in.start(c, c.nextStart)
				continue
			}
			break
		}
	}
	in.settle()
}

func (in *instance) start(c *container, at time.Time) {
	c.state, c.reason, c.startedAt, c.nextStart = providers.ContainerRunning, "", at, time.Time{}
	c.exitCode, c.finishedAt = 0, time.Time{}
	c.log = append(c.log, fmt.Sprintf("%s fake: container %s started", at.UTC().Format(time.RFC3339Nano), c.name))
	for _, sc := range in.spec.Containers {
		if sc.Name == c.name {
			c.log = append(c.log, strings.Join(append(append([]string(nil), sc.Command...), sc.Args...), " "))
		}
	}
}

func (in *instance) exit(c *container, at time.Time, code int32) {
	c.state, c.exitCode, c.finishedAt = providers.ContainerTerminated, code, at
	c.reason = "Completed"
	if code != 0 {
		c.reason = "Error"
	}
	p := in.spec.RestartPolicy
	if p == providers.RestartAlways || p == "" || (p == providers.RestartOnFailure && code != 0) {
		c.state, c.reason, c.nextStart = providers.ContainerWaiting, "CrashLoopBackOff", at.Add(in.bh.RestartBackoff)
	}
}

func (in *instance) crash(now time.Time, code int32) {
	for _, c := range in.containers {
		if c.state == providers.ContainerRunning {
			in.exit(c, now, code)
		}
	}
	in.settle()
}

// settle derives the instance phase from its containers once it has started.
func (in *instance) settle() {
	if in.phase != providers.PhaseRunning {
		return
	}
	allDone, allZero := true, true
	for _, c := range in.containers {
		if c.state != providers.ContainerTerminated {
			allDone = false
		} else if c.exitCode != 0 {
			allZero = false
		}
	}
	if !allDone {
		return
	}
	if allZero {
		in.phase, in.reason = providers.PhaseSucceeded, "Completed"
	} else {
		in.phase, in.reason = providers.PhaseFailed, "Error"
	}
}

func (in *instance) status(ip string) providers.InstanceStatus {
	st := providers.InstanceStatus{
		Ref:       in.spec.Ref,
		Phase:     in.phase,
		Reason:    in.reason,
		Message:   in.message,
		CreatedAt: in.created,
		StartedAt: in.started,
	}
	if in.phase == providers.PhaseRunning {
		st.IP = ip
	}
	for _, c := range in.containers {
		cs := providers.ContainerStatus{
			Name: c.name, State: c.state, Reason: c.reason, ExitCode: c.exitCode,
			StartedAt: c.startedAt, FinishedAt: c.finishedAt, RestartCount: c.restarts,
			Ready: c.state == providers.ContainerRunning,
		}
		st.Containers = append(st.Containers, cs)
	}
	return st
}

// Logs returns the lines the fake wrote for a container: one per start, then its
// command line. With Follow it keeps the stream open until ctx ends.
func (b *Backend) Logs(ctx context.Context, ref providers.InstanceRef, name string, o providers.LogOptions) (io.ReadCloser, error) {
	if _, err := b.begin(ctx, OpLogs, ref); err != nil {
		return nil, err
	}
	now := b.clock.Now()
	b.mu.Lock()
	in, ok := b.instances[ref.UID]
	var lines []string
	found := false
	if ok {
		in.advance(now)
		for _, c := range in.containers {
			if c.name == name {
				lines, found = append([]string(nil), c.log...), true
			}
		}
	}
	b.mu.Unlock()
	if !ok {
		return nil, providers.NewError(providers.KindNotFound, fmt.Errorf("fake: no instance for pod %s/%s", ref.Namespace, ref.Name))
	}
	if !found {
		return nil, providers.NewError(providers.KindNotFound, fmt.Errorf("fake: pod %s/%s has no container %q", ref.Namespace, ref.Name, name))
	}
	if o.Tail > 0 && len(lines) > o.Tail {
		lines = lines[len(lines)-o.Tail:]
	}
	var buf bytes.Buffer
	for _, l := range lines {
		buf.WriteString(l)
		buf.WriteByte('\n')
	}
	if !o.Follow {
		return io.NopCloser(&buf), nil
	}
	pr, pw := io.Pipe()
	f := &follower{PipeReader: pr, stop: make(chan struct{})}
	go func() {
		if _, err := pw.Write(buf.Bytes()); err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-f.stop:
		}
		pw.CloseWithError(io.EOF)
	}()
	return f, nil
}

// follower is a followed log stream; Close ends it.
type follower struct {
	*io.PipeReader
	once sync.Once
	stop chan struct{}
}

func (f *follower) Close() error {
	f.once.Do(func() { close(f.stop) })
	return f.PipeReader.Close()
}
