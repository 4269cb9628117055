package local

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// exitInfo is how a process ended.
type exitInfo struct {
	code    int32
	signal  syscall.Signal // 0 if it exited normally
	unknown bool           // adopted process: its exit status cannot be read
	at      time.Time
}

// proc is a running container process: either our child (cmd.Wait reports its
// status) or one adopted from an earlier surge-vnode (watched through /proc).
type proc struct {
	pid    int
	ticks  uint64 // start time in clock ticks since boot, to tell a reused PID apart
	exited chan struct{}
	exit   exitInfo
}

// startProc starts cmd and returns its proc; a goroutine reaps it.
func startProc(cmd *exec.Cmd, cg *cgroup, now func() time.Time) (*proc, error) {
	err := cg.start(cmd.Start, func(fd int) {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = fd
	})
	if err != nil {
		return nil, err
	}
	p := &proc{pid: cmd.Process.Pid, exited: make(chan struct{})}
	p.ticks, _ = procStartTicks(p.pid)
	go func() {
		err := cmd.Wait()
		p.exit = exitFromWait(cmd.ProcessState, err)
		p.exit.at = now()
		close(p.exited)
	}()
	return p, nil
}

func exitFromWait(ps *os.ProcessState, err error) exitInfo {
	if ps == nil {
		return exitInfo{code: 128, unknown: true}
	}
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok {
		return exitInfo{code: int32(ps.ExitCode())}
	}
	if ws.Signaled() {
		return exitInfo{code: 128 + int32(ws.Signal()), signal: ws.Signal()}
	}
	return exitInfo{code: int32(ws.ExitStatus())}
}

// adoptProc watches a process started by an earlier surge-vnode. It reports an
// exit when the PID is gone, a zombie, or reused by another process; the exit
// status itself is unknown. stop ends the watch without reporting an exit.
func adoptProc(pid int, ticks uint64, poll time.Duration, stop <-chan struct{}, now func() time.Time) *proc {
	p := &proc{pid: pid, ticks: ticks, exited: make(chan struct{})}
	go func() {
		t := time.NewTicker(poll)
		defer t.Stop()
		for alive(pid, ticks) {
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
		p.exit = exitInfo{code: 137, unknown: true, at: now()}
		close(p.exited)
	}()
	return p
}

// alive reports whether pid runs and is the process that started at ticks.
func alive(pid int, ticks uint64) bool {
	got, state, err := procStat(pid)
	if err != nil || state == "Z" || state == "X" {
		return false
	}
	return ticks == 0 || got == ticks
}

// procStartTicks returns a process's start time in clock ticks since boot.
func procStartTicks(pid int) (uint64, error) {
	t, _, err := procStat(pid)
	return t, err
}

// procStat reads the start time and state of pid from /proc/<pid>/stat.
func procStat(pid int) (ticks uint64, state string, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", err
	}
	return parseStat(string(data))
}

// parseStat extracts fields 3 (state) and 22 (starttime) of /proc/<pid>/stat. The
// command name (field 2) may hold spaces and parentheses, so parsing starts after
// the last ')'.
func parseStat(s string) (uint64, string, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, "", errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return 0, "", errors.New("short /proc stat")
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, "", fmt.Errorf("parse /proc stat: %w", err)
	}
	return t, f[0], nil
}

// signalGroup sends sig to the process group of p (its PID: processes start with
// Setpgid) after checking that the PID still names the same process.
func (p *proc) signalGroup(sig syscall.Signal) {
	if p == nil || p.pid <= 0 {
		return
	}
	select {
	case <-p.exited:
		// Once the leader is reaped its PID may name another process group;
		// members left behind are reached through the cgroup instead.
		return
	default:
	}
	if !alive(p.pid, p.ticks) {
		return
	}
	if err := syscall.Kill(-p.pid, sig); err != nil {
		_ = syscall.Kill(p.pid, sig)
	}
}
