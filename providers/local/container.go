package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// resetBackoffAfter is how long a container must run for its back-off to reset.
const resetBackoffAfter = 10 * time.Minute

// defaultPath is the PATH of a container whose spec sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

var errStopping = errors.New("instance is stopping")

// supervise runs container i: starts it (after the simulated delay or its
// back-off), waits for it to exit, records the exit and restarts it as the
// restart policy says. p, if set, is an adopted running process. It returns when
// the container is done for good, when the instance stops, or when the backend
// detaches.
func (in *instance) supervise(i int, p *proc) {
	defer in.wg.Done()
	for {
		if p == nil {
			if !in.waitUntil(in.nextStart(i)) {
				return
			}
			var err error
			p, err = in.start(i)
			if errors.Is(err, errStopping) {
				return
			}
			if err != nil {
				if !in.recordExit(i, exitInfo{code: 128, at: in.b.clock.Now()}, "StartError", err.Error()) {
					return
				}
				continue
			}
		}
		select {
		case <-p.exited:
		case <-in.b.detach:
			return
		}
		if !in.recordExit(i, p.exit, "", "") {
			return
		}
		p = nil
	}
}

// nextStart returns when container i may start; the zero time if it is done.
func (in *instance) nextStart(i int) time.Time {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.st.Containers[i]
	if c.Done {
		return time.Time{}
	}
	if c.NextStart.After(in.st.StartAt) {
		return c.NextStart
	}
	return in.st.StartAt
}

// waitUntil sleeps until t; false if the container is done (zero t), the instance
// stops or the backend detaches first.
func (in *instance) waitUntil(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	if d := t.Sub(in.b.clock.Now()); d > 0 {
		timer := in.b.clock.NewTimer(d)
		defer timer.Stop()
		select {
		case <-timer.C():
		case <-in.stopCh:
			return false
		case <-in.b.detach:
			return false
		}
	}
	select {
	case <-in.stopCh:
		return false
	case <-in.b.detach:
		return false
	default:
		return true
	}
}

// start starts container i's process and records it.
func (in *instance) start(i int) (*proc, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.stopping {
		return nil, errStopping
	}
	c := &in.st.Containers[i]
	spec := in.st.Spec.Containers[i]
	attempted := c.State != providers.ContainerWaiting || c.Reason != "ContainerCreating"
	if attempted {
		c.RestartCount++
	}
	cmd, logf, err := in.command(i, spec, c.Executable)
	if err != nil {
		return nil, err
	}
	defer logf.Close() // the child holds its own descriptor
	in.oomBefore[i] = in.cgs[i].oomKills()
	now := in.b.clock.Now()
	p, err := startProc(cmd, in.cgs[i], in.b.clock.Now)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Executable, err)
	}
	in.procs[i] = p
	c.PID, c.StartTicks = p.pid, p.ticks
	c.State, c.Reason, c.Message, c.ExitCode = providers.ContainerRunning, "", "", 0
	c.StartedAt, c.FinishedAt, c.NextStart = now, time.Time{}, time.Time{}
	if err := in.st.save(in.dir); err != nil {
		in.b.log.Error(err, "cannot record a started process; it will not be re-adopted after a restart",
			"uid", in.st.Spec.Ref.UID, "container", c.Name)
	}
	return p, nil
}

// command builds the process of one container. The image's executable always
// runs; Command[0], when set, becomes argv[0] (as for a multi-call binary) and
// Command[1:] and Args follow. The environment is the spec's alone, on top of
// PATH and HOSTNAME: nothing leaks from surge-vnode's own environment.
func (in *instance) command(i int, spec providers.ContainerSpec, exe string) (*exec.Cmd, *os.File, error) {
	argv := append([]string{exe}, spec.Args...)
	if len(spec.Command) > 0 {
		argv = append(append([]string(nil), spec.Command...), spec.Args...)
	}
	dir := spec.WorkingDir
	if dir == "" {
		dir = filepath.Join(in.dir, spec.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("create working directory: %w", err)
		}
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, nil, fmt.Errorf("working directory %s does not exist on this host", dir)
	}
	env := []string{"PATH=" + defaultPath, "HOSTNAME=" + in.st.Spec.Ref.Name, "HOME=" + dir}
	for _, e := range spec.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	logf, err := os.OpenFile(logPath(in.dir, spec.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("open log: %w", err)
	}
	cmd := &exec.Cmd{
		Path: exe, Args: argv, Env: env, Dir: dir, Stdout: logf, Stderr: logf,
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	return cmd, logf, nil
}

func logPath(dir, container string) string { return filepath.Join(dir, container+".log") }

// recordExit records container i's exit and decides whether it restarts; it
// returns false when the supervisor should stop.
func (in *instance) recordExit(i int, e exitInfo, reason, message string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := &in.st.Containers[i]
	ran := c.StartedAt
	in.procs[i] = nil
	c.PID, c.StartTicks = 0, 0
	c.State, c.ExitCode, c.FinishedAt = providers.ContainerTerminated, e.code, e.at
	switch {
	case reason != "":
	case e.unknown:
		reason = "ContainerStatusUnknown"
		message = "the process ended while no surge-vnode watched it; its exit status is unknown"
	case e.signal == syscall.SIGKILL && in.oomBefore[i] >= 0 && in.cgs[i].oomKills() > in.oomBefore[i]:
		reason = "OOMKilled"
	case e.code == 0:
		reason = "Completed"
	default:
		reason = "Error"
	}
	c.Reason, c.Message = reason, message
	restart := false
	if !in.stopping {
		switch in.st.Spec.RestartPolicy {
		case providers.RestartNever:
		case providers.RestartOnFailure:
			restart = e.code != 0 || e.unknown
		default:
			restart = true
		}
	}
	if restart {
		switch {
		case c.Backoff == 0 || (!ran.IsZero() && e.at.Sub(ran) >= resetBackoffAfter):
			c.Backoff = in.b.opts.BackoffInitial
		default:
			c.Backoff = min(2*c.Backoff, in.b.opts.BackoffMax)
		}
		c.NextStart = e.at.Add(c.Backoff)
		c.State = providers.ContainerWaiting
		c.Message = fmt.Sprintf("back-off %s restarting container; last exit code %d (%s)", c.Backoff, e.code, reason)
		c.Reason = "CrashLoopBackOff"
	} else if !in.stopping {
		c.Done = true
	}
	if !in.stopping {
		if err := in.st.save(in.dir); err != nil {
			in.b.log.Error(err, "cannot record a container exit", "uid", in.st.Spec.Ref.UID, "container", c.Name)
		}
	}
	return restart
}
