package local

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// killWait bounds how long Delete waits for processes after SIGKILL.
const killWait = 10 * time.Second

// instance is one pod's processes. mu guards st, procs and the flags; the
// supervisors (one goroutine per container) and Delete are its only writers.
type instance struct {
	b   *Backend
	dir string
	cgs []*cgroup
	wg  sync.WaitGroup // supervisors

	mu        sync.Mutex
	st        *podState
	procs     []*proc
	oomBefore []int64
	stopping  bool
	removed   bool
	stopCh    chan struct{} // closed when a stop begins
	stopDone  chan struct{} // closed when the stop has finished
	stopErr   error

	// ready is closed once setup has finished; setupErr is its outcome.
	ready    chan struct{}
	setupErr error
}

// newInstance builds an instance in memory; setup writes it to disk.
func (b *Backend) newInstance(spec *providers.InstanceSpec, execs []string) *instance {
	now := b.clock.Now()
	st := &podState{Version: stateVersion, Spec: spec.DeepCopy(), CreatedAt: now,
		StartAt: now.Add(b.opts.SimulatedStartDelay), CgroupV2: b.cgroups.mode == CgroupV2}
	for i, c := range spec.Containers {
		st.Containers = append(st.Containers, containerState{Name: c.Name, Executable: execs[i],
			State: providers.ContainerWaiting, Reason: "ContainerCreating"})
	}
	in := b.instanceFor(podDir(b.opts.Dir, spec.Ref.UID), st)
	in.ready = make(chan struct{})
	return in
}

// setup creates the instance's directory and cgroups and saves its state.
func (in *instance) setup() error {
	if err := os.MkdirAll(in.dir, 0o700); err != nil {
		return fmt.Errorf("local backend: create instance directory: %w", err)
	}
	spec := in.st.Spec
	for i, c := range spec.Containers {
		cg, err := in.b.cgroups.create(spec.Ref.UID, c.Name, c.Requests, c.Limits)
		if err != nil {
			_ = in.cleanup()
			return fmt.Errorf("local backend: %w", err)
		}
		in.mu.Lock()
		in.cgs[i] = cg
		if cg != nil {
			in.st.Containers[i].Cgroups = cg.dirs
		}
		in.mu.Unlock()
	}
	in.mu.Lock()
	err := in.st.save(in.dir)
	in.mu.Unlock()
	if err != nil {
		_ = in.cleanup()
		return fmt.Errorf("local backend: %w", err)
	}
	return nil
}

func (b *Backend) instanceFor(dir string, st *podState) *instance {
	n := len(st.Spec.Containers)
	ready := make(chan struct{})
	close(ready) // recorded instances are set up; newInstance replaces it
	return &instance{b: b, dir: dir, st: st, cgs: make([]*cgroup, n), procs: make([]*proc, n),
		oomBefore: make([]int64, n), stopCh: make(chan struct{}), ready: ready}
}

// run starts one supervisor per container; adopted[i], if set, is container i's
// already running process.
func (in *instance) run(adopted []*proc) {
	for i := range in.st.Containers {
		var p *proc
		if adopted != nil {
			p = adopted[i]
		}
		in.wg.Add(1)
		go in.supervise(i, p)
	}
}

// stop begins deleting the instance (once) and returns a channel that yields the
// outcome.
func (in *instance) stop() <-chan error {
	in.mu.Lock()
	if in.stopDone == nil {
		in.stopDone = make(chan struct{})
		in.stopping = true
		close(in.stopCh)
		in.st.Deleting = true
		if err := in.st.save(in.dir); err != nil {
			in.b.log.Error(err, "cannot record deletion; continuing", "uid", in.st.Spec.Ref.UID)
		}
		go in.terminate()
	}
	done := in.stopDone
	in.mu.Unlock()
	out := make(chan error, 1)
	go func() {
		<-done
		out <- in.stopErr
	}()
	return out
}

// terminate stops every process: SIGTERM, SIGKILL after the grace period, then
// whatever is left in the cgroups; then removes cgroups and state.
func (in *instance) terminate() {
	defer close(in.stopDone)
	<-in.ready
	in.mu.Lock()
	procs := append([]*proc(nil), in.procs...)
	grace := max(in.st.Spec.TerminationGracePeriod, 0)
	ref := in.st.Spec.Ref
	in.mu.Unlock()

	in.signalAll(procs, syscall.SIGTERM)
	if !waitExited(procs, grace) {
		in.b.log.V(1).Info("grace period over, killing", "pod", ref.Namespace+"/"+ref.Name, "grace", grace)
		in.signalAll(procs, syscall.SIGKILL)
		if !waitExited(procs, killWait) {
			in.stopErr = fmt.Errorf("local backend: processes of pod %s/%s did not exit after SIGKILL", ref.Namespace, ref.Name)
			return
		}
	}
	for _, cg := range in.cgs {
		cg.signal(syscall.SIGKILL) // anything the workload forked into another group
	}
	in.wg.Wait()
	in.stopErr = in.cleanup()
}

func (in *instance) signalAll(procs []*proc, sig syscall.Signal) {
	for _, p := range procs {
		p.signalGroup(sig)
	}
	for _, cg := range in.cgs {
		cg.signal(sig)
	}
}

// waitExited waits until every process has exited or d has passed.
func waitExited(procs []*proc, d time.Duration) bool {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	for _, p := range procs {
		if p == nil {
			continue
		}
		select {
		case <-p.exited:
		case <-deadline.C:
			return false
		}
	}
	return true
}

// cleanup removes the instance's cgroups and directory.
func (in *instance) cleanup() error {
	var errs []error
	for _, cg := range in.cgs {
		if err := cg.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(in.dir); err != nil {
		errs = append(errs, fmt.Errorf("remove instance directory: %w", err))
	}
	in.mu.Lock()
	in.removed = true
	in.mu.Unlock()
	return errors.Join(errs...)
}

// status reports the instance as of now; ok is false once it is removed.
func (in *instance) status(now time.Time) (providers.InstanceStatus, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.removed {
		return providers.InstanceStatus{}, false
	}
	return statusOf(in.st, now, in.b.opts.IP), true
}

// statusOf maps a persisted state to an InstanceStatus.
func statusOf(st *podState, now time.Time, ip string) providers.InstanceStatus {
	out := providers.InstanceStatus{Ref: st.Spec.Ref, CreatedAt: st.CreatedAt, Phase: providers.PhasePending}
	ran, done, allZero := false, true, true
	for _, c := range st.Containers {
		out.Containers = append(out.Containers, providers.ContainerStatus{
			Name: c.Name, State: c.State, Reason: c.Reason, Message: c.Message, ExitCode: c.ExitCode,
			StartedAt: c.StartedAt, FinishedAt: c.FinishedAt, RestartCount: c.RestartCount,
			Ready: c.State == providers.ContainerRunning,
		})
		if !c.StartedAt.IsZero() && (out.StartedAt.IsZero() || c.StartedAt.Before(out.StartedAt)) {
			out.StartedAt = c.StartedAt
		}
		ran = ran || !c.StartedAt.IsZero()
		done = done && c.Done
		allZero = allZero && c.ExitCode == 0
	}
	switch {
	case done && allZero:
		out.Phase, out.Reason = providers.PhaseSucceeded, "Completed"
	case done:
		out.Phase, out.Reason = providers.PhaseFailed, "Error"
	case ran:
		out.Phase, out.IP = providers.PhaseRunning, ip
	case now.Before(st.StartAt):
		out.Reason = "SimulatedStartDelay"
		out.Message = "SIMULATION: start delayed to imitate a cloud cold start"
	}
	return out
}
