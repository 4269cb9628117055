package local

import (
	"os"
	"path/filepath"
	"syscall"

	"github.com/surge-autoscaler/surge/providers"
)

// readopt rebuilds the instances recorded under Dir. For each container:
//   - recorded running and its PID still names the same process (start time
//     checked): watched, not restarted;
//   - recorded running but gone: ends as ContainerStatusUnknown and follows the
//     restart policy;
//   - not recorded running: whatever its cgroup holds is killed (a process started
//     just before a crash, before its PID was saved), then it starts normally.
//
// Instances recorded as being deleted finish their deletion. Directories without
// a usable state and cgroups without an instance are removed, processes and all.
func (b *Backend) readopt() error {
	states, broken, err := loadStates(b.opts.Dir)
	if err != nil {
		return err
	}
	for _, dir := range broken {
		b.log.Info("removing instance directory without usable state", "dir", dir)
		b.killCgroupsOf(filepath.Base(dir))
		_ = os.RemoveAll(dir)
	}
	b.removeOrphanCgroups(states)
	for uid, st := range states {
		in := b.instanceFor(podDir(b.opts.Dir, uid), st)
		adopted := make([]*proc, len(st.Containers))
		for i := range st.Containers {
			c := &st.Containers[i]
			in.cgs[i] = openCgroup(c.Cgroups, st.CgroupV2)
			in.oomBefore[i] = in.cgs[i].oomKills()
			if c.State == providers.ContainerRunning && c.PID > 0 {
				adopted[i] = adoptProc(c.PID, c.StartTicks, b.opts.PollInterval, b.detach, b.clock.Now)
				in.procs[i] = adopted[i]
				continue
			}
			in.cgs[i].signal(syscall.SIGKILL)
		}
		b.instances[uid] = in
		ref := st.Spec.Ref
		if st.Deleting {
			b.log.Info("finishing a deletion interrupted by a restart", "pod", ref.Namespace+"/"+ref.Name, "uid", uid)
			in.run(adopted)
			done := in.stop()
			go func() {
				<-done
				b.mu.Lock()
				if b.instances[uid] == in {
					delete(b.instances, uid)
				}
				b.mu.Unlock()
			}()
			continue
		}
		n := 0
		for _, p := range adopted {
			if p != nil {
				n++
			}
		}
		b.log.Info("re-adopted instance", "pod", ref.Namespace+"/"+ref.Name, "uid", uid, "runningProcesses", n)
		in.run(adopted)
	}
	return nil
}

// killCgroupsOf kills and removes the cgroups of an instance whose state is lost.
func (b *Backend) killCgroupsOf(uid string) {
	var dirs []string
	for _, parent := range b.cgroups.parents {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if u, ok := cgroupUID(e.Name()); ok && u == uid && e.IsDir() {
				dirs = append(dirs, filepath.Join(parent, e.Name()))
			}
		}
	}
	cg := openCgroup(dirs, b.cgroups.mode == CgroupV2)
	cg.signal(syscall.SIGKILL)
	_ = cg.remove()
}

// removeOrphanCgroups kills and removes container cgroups under the parents that
// no recorded instance owns.
func (b *Backend) removeOrphanCgroups(states map[string]*podState) {
	seen := map[string]bool{}
	for _, parent := range b.cgroups.parents {
		entries, err := os.ReadDir(parent)
		if err != nil {
			continue
		}
		for _, e := range entries {
			uid, ok := cgroupUID(e.Name())
			if !ok || !e.IsDir() || states[uid] != nil || seen[uid] {
				continue
			}
			seen[uid] = true
			b.log.Info("removing cgroups of an unknown instance", "uid", uid)
			b.killCgroupsOf(uid)
		}
	}
}
