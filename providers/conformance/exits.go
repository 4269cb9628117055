package conformance

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// terminal reports whether the instance reached Succeeded or Failed.
func terminal(st providers.InstanceStatus, ok bool) bool {
	return ok && (st.Phase == providers.PhaseSucceeded || st.Phase == providers.PhaseFailed)
}

func testExitZeroSucceeds(e *env) {
	ref := e.ref("exit-zero")
	e.mustCreate(e.spec(ref, ExitZero, providers.RestartNever))
	st := e.waitFor(ref, "terminal", terminal, monotonic(e))
	if st.Phase != providers.PhaseSucceeded {
		e.t.Fatalf("phase %s, want Succeeded: %s", st.Phase, describe(st))
	}
	c := st.Containers[0]
	if c.State != providers.ContainerTerminated || c.ExitCode != 0 {
		e.t.Fatalf("container %s, want Terminated with exit code 0", describe(st))
	}
	if c.FinishedAt.IsZero() || c.FinishedAt.Before(c.StartedAt) {
		e.t.Errorf("FinishedAt %v, StartedAt %v: want FinishedAt set and not before StartedAt", c.FinishedAt, c.StartedAt)
	}
}

func testExitNonZeroFails(e *env) {
	ref := e.ref("exit-nonzero")
	e.mustCreate(e.spec(ref, ExitNonZero, providers.RestartNever))
	st := e.waitFor(ref, "terminal", terminal, monotonic(e))
	if st.Phase != providers.PhaseFailed {
		e.t.Fatalf("phase %s, want Failed: %s", st.Phase, describe(st))
	}
	c := st.Containers[0]
	if c.State != providers.ContainerTerminated || c.ExitCode == 0 || c.Reason == "" {
		e.t.Fatalf("container %s, want Terminated with a non-zero exit code and a reason", describe(st))
	}
	if c.RestartCount != 0 {
		e.t.Fatalf("restartPolicy Never but RestartCount = %d", c.RestartCount)
	}
}

func testOnFailureExitZero(e *env) {
	ref := e.ref("onfailure-zero")
	e.mustCreate(e.spec(ref, ExitZero, providers.RestartOnFailure))
	st := e.waitFor(ref, "terminal", terminal, monotonic(e))
	if st.Phase != providers.PhaseSucceeded || st.Containers[0].RestartCount != 0 {
		e.t.Fatalf("restartPolicy OnFailure with exit 0: %s, want Succeeded without restarts", describe(st))
	}
}

func testRestartAlways(e *env) {
	ref := e.ref("restart-always")
	e.mustCreate(e.spec(ref, ExitNonZero, providers.RestartAlways))
	e.waitFor(ref, "a restart", func(st providers.InstanceStatus, ok bool) bool {
		return ok && len(st.Containers) == 1 && st.Containers[0].RestartCount >= 1
	}, func(st providers.InstanceStatus) {
		if st.Phase == providers.PhaseSucceeded || st.Phase == providers.PhaseFailed {
			e.t.Fatalf("restartPolicy Always reached a terminal phase: %s", describe(st))
		}
	})
}

func testUnrunnable(e *env) {
	ref := e.ref("unrunnable")
	err := e.create(e.spec(ref, Unrunnable, providers.RestartAlways))
	if err != nil {
		if !providers.IsUnsupported(err) {
			e.t.Fatalf("Create of an unrunnable image = %v, want nil or an Unsupported error", err)
		}
		if strings.TrimSpace(err.Error()) == "" {
			e.t.Fatalf("Unsupported error without a message")
		}
		return
	}
	st := e.waitFor(ref, "Failed", func(st providers.InstanceStatus, ok bool) bool {
		return ok && st.Phase == providers.PhaseFailed
	}, nil)
	reason := st.Reason + st.Message
	for _, c := range st.Containers {
		reason += c.Reason + c.Message
	}
	if reason == "" {
		e.t.Fatalf("unrunnable instance failed without a reason: %s", describe(st))
	}
}

// LogMarker is the line a RunForever container must print on stdout, at start, for
// the Logs subtest of a backend that implements providers.LogReader.
const LogMarker = "conformance: started"

func testLogs(e *env) {
	lr, ok := e.b.(providers.LogReader)
	if !ok {
		e.t.Skipf("%s does not implement providers.LogReader", e.h.Name)
	}
	ref := e.ref("logs")
	spec := e.spec(ref, RunForever, providers.RestartAlways)
	e.mustCreate(spec)
	e.waitPhase(ref, providers.PhaseRunning)
	name := spec.Containers[0].Name
	deadline := time.Now().Add(e.h.Timeout)
	for {
		text, err := readAll(e.ctx, lr, ref, name, providers.LogOptions{})
		if err != nil {
			e.t.Fatalf("Logs: %v", err)
		}
		if strings.Contains(text, LogMarker) {
			break
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("logs never showed %q; got %q", LogMarker, text)
		}
		time.Sleep(e.h.Interval)
	}
	// Follow streams until the context ends and shows what is already there.
	ctx, cancel := context.WithTimeout(e.ctx, e.h.Timeout)
	defer cancel()
	rc, err := lr.Logs(ctx, ref, name, providers.LogOptions{Follow: true})
	if err != nil {
		e.t.Fatalf("Logs(follow): %v", err)
	}
	r := bufio.NewReader(rc)
	var seen []string
	for {
		line, err := r.ReadString('\n')
		seen = append(seen, line)
		if strings.Contains(line, LogMarker) {
			break
		}
		if err != nil {
			_ = rc.Close()
			e.t.Fatalf("Logs(follow) ended (%v) without %q; read %q", err, LogMarker, seen)
		}
	}
	_ = rc.Close()
	if _, err := lr.Logs(e.ctx, e.ref("no-such-pod"), name, providers.LogOptions{}); !providers.IsNotFound(err) {
		e.t.Fatalf("Logs of an unknown instance = %v, want NotFound", err)
	}
	if _, err := lr.Logs(e.ctx, ref, "no-such-container", providers.LogOptions{}); !providers.IsNotFound(err) {
		e.t.Fatalf("Logs of an unknown container = %v, want NotFound", err)
	}
}

func readAll(ctx context.Context, lr providers.LogReader, ref providers.InstanceRef, container string, o providers.LogOptions) (string, error) {
	rc, err := lr.Logs(ctx, ref, container, o)
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return string(b), nil
}
