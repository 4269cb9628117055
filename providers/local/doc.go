// Package local is a providers.Backend that runs each container of a pod as a
// process on this machine: real work for the demo, CI and the edge, not a mock.
//
// # Images
//
// An ImageMap (a file, see ParseImageMap) maps image references to executables
// and is the allow-list of what runs: an unmapped image, or a mapped path that is
// not executable, makes Create return an Unsupported error naming the image, which
// surge-vnode turns into a failed pod with that message. The image's executable
// always runs; a container's command[0] becomes its argv[0] (so a multi-call
// binary such as busybox dispatches on it), command[1:] and args follow. The
// process gets the container's resolved environment plus PATH, HOSTNAME (the pod
// name) and HOME, and nothing of surge-vnode's own environment. workingDir must
// exist on the host; without one the process runs in a private directory. Ports
// are not mapped: processes share the host network, so two replicas listening on
// one port conflict.
//
// # Limits
//
// CPU and memory limits are enforced with cgroups (CgroupMode): v1 where the cpu
// and memory controllers are mounted (this project's CI machine), v2 otherwise.
// Each container gets its own cgroup, <own cgroup>/surge-local/<dir id>/<pod
// uid>_<container> on v1 (under the root on v2): memory limit → memory.limit_in_bytes
// (memory.max), CPU limit → a CFS quota over a 100 ms period, CPU request →
// cpu.shares (cpu.weight). The process is in its cgroup from its first
// instruction (CLONE_INTO_CGROUP on v2; on v1 the forking thread joins the cgroup
// first and then dies). A container killed by the kernel's OOM killer ends with
// reason OOMKilled. Without cgroups limits are not enforced, and New says so.
//
// # Lifecycle
//
// Each process starts in its own process group with stdin from /dev/null and
// stdout and stderr appended to <Dir>/pods/<uid>/<container>.log (Logs reads it).
// A supervisor goroutine per container reaps it and applies the restart policy
// with the kubelet's back-off (10 s doubling to 300 s, reset after 10 minutes of
// running). Exit codes follow the container runtime convention: the process's
// code, or 128+signal; reasons are Completed, Error, OOMKilled, StartError,
// ContainerStatusUnknown. Delete sends SIGTERM to the process group and cgroup,
// SIGKILL after the pod's termination grace period, kills anything left in the
// cgroup, removes the cgroups and the instance directory, and returns when all
// of that is done.
//
// # Restarts of surge-vnode
//
// <Dir>/pods/<uid>/state.json (0600, in 0700 directories: it holds the resolved
// environment, Secret values included) records the spec and each process's PID
// and start time. Close leaves processes running; New on the same Dir re-adopts
// them: a PID that still names the same process (start time checked, so a reused
// PID is not mistaken for it) is watched, not restarted, so there are never two
// processes for one container. A process that ended while no backend watched it
// cannot report its exit code: it ends as ContainerStatusUnknown with code 137
// (as the kubelet reports a container it lost) and the restart policy applies.
// New kills processes in cgroups no state accounts for, and completes deletions a
// crash interrupted. An flock on <Dir>/lock keeps two backends off one Dir.
//
// # Simulation
//
// Options.SimulatedStartDelay keeps new instances Pending (reason
// SimulatedStartDelay) before their processes start, to imitate a cloud
// backend's cold start. It is off by default and logged as a simulation.
package local
