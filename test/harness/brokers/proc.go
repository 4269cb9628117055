package brokers

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is a child process started in its own process group, so that stopping it
// also ends the helpers it spawned, and nothing else.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done closes
}

// startProc starts cmd in a new process group with a parent-death signal, logging
// to logPath (appended).
func startProc(cmd *exec.Cmd, logPath string) (*proc, error) {
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		log.Close()
		close(p.done)
	}()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signalGroup sends sig to p's process group.
func (p *proc) signalGroup(sig syscall.Signal) {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}

// waitGroupStopped waits until every process in p's group is stopped (state T).
func (p *proc) waitGroupStopped(timeout time.Duration) error {
	pgid := p.cmd.Process.Pid
	deadline := time.Now().Add(timeout)
	for {
		running := 0
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// Fields after the parenthesised command: state ppid pgrp ...
			i := strings.LastIndexByte(string(b), ')')
			if i < 0 {
				continue
			}
			f := strings.Fields(string(b[i+1:]))
			if len(f) < 3 || f[2] != strconv.Itoa(pgid) {
				continue
			}
			if f[0] != "T" && f[0] != "t" && f[0] != "Z" {
				running++
			}
		}
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d processes of group %d still running %s after SIGSTOP", running, pgid, timeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stop sends SIGTERM to the leader, waits up to grace, then SIGKILLs the group.
// It always waits for the leader to be reaped.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		p.signalGroup(syscall.SIGKILL) // stray helpers of a dead leader
		return
	}
	p.signalGroup(syscall.SIGCONT) // a frozen process cannot handle SIGTERM
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	p.signalGroup(syscall.SIGKILL)
	<-p.done
}

// kill SIGKILLs the group and waits for the leader.
func (p *proc) kill() {
	p.signalGroup(syscall.SIGKILL)
	<-p.done
}

// tail returns the last n bytes of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(bytes.TrimSpace(b))
}

// lookBinary returns path if it is executable, else an error naming how to install.
func lookBinary(path, install string) (string, error) {
	if p, err := exec.LookPath(path); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s not found: %s (or make deps)", path, install)
}

var errExited = errors.New("process exited during startup")
