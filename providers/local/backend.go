package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sys/unix"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/providers"
)

// Options configures a Backend.
type Options struct {
	// Dir holds the backend's state: one directory per instance with its state
	// file and container logs. Required. Two backends must not share it; New
	// takes an exclusive lock on it.
	Dir string
	// Images is the image map; nil maps nothing.
	Images *ImageMap
	// Cgroups selects limit enforcement; default CgroupAuto.
	Cgroups CgroupMode
	// CgroupParent names the parent cgroup: relative names are created under the
	// backend's own cgroup (v1) or the hierarchy root (v2); default "surge-local".
	CgroupParent string
	// Capacity is reported by Capacity; zero fields are filled from the machine
	// (CPUs, memory) and 110 pods.
	Capacity providers.Resources
	// BackoffInitial and BackoffMax bound the restart back-off; defaults 10 s and
	// 300 s, as the kubelet's. The back-off doubles per restart and resets after a
	// container has run for 10 minutes.
	BackoffInitial, BackoffMax time.Duration
	// SimulatedStartDelay, if > 0, keeps every new instance Pending this long
	// before its processes start, imitating a cloud backend's cold start. It is a
	// simulation, off by default, and logged as one.
	SimulatedStartDelay time.Duration
	// IP is the address reported for running instances; default 127.0.0.1.
	IP string
	// PollInterval is how often adopted processes are checked; default 200 ms.
	PollInterval time.Duration
	// Log receives the backend's logs; default discard.
	Log logr.Logger
	// Clock stamps statuses and times back-offs; default the real clock.
	Clock clock.WithTicker
}

// Backend runs instances as local processes. See the package documentation.
type Backend struct {
	opts    Options
	log     logr.Logger
	clock   clock.WithTicker
	cgroups *cgroupRoot
	lock    *os.File

	mu        sync.Mutex
	instances map[string]*instance
	closed    bool
	detach    chan struct{} // closed by Close: supervisors leave their processes
}

var (
	_ providers.Backend   = (*Backend)(nil)
	_ providers.LogReader = (*Backend)(nil)
)

// ErrClosed is returned by calls on a closed Backend.
var ErrClosed = errors.New("local backend: closed")

var containerName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// New opens (or creates) the state directory, re-adopts the instances recorded
// there and returns the backend. Processes recorded as running that still run are
// watched, not restarted; those that ended while no backend watched them follow
// their restart policy with an unknown exit status.
func New(o Options) (*Backend, error) {
	if o.Dir == "" {
		return nil, errors.New("local backend: Options.Dir is required")
	}
	fillDefaults(&o)
	if err := os.MkdirAll(filepath.Join(o.Dir, "pods"), 0o700); err != nil {
		return nil, fmt.Errorf("local backend: create state directory: %w", err)
	}
	lock, err := lockDir(o.Dir)
	if err != nil {
		return nil, err
	}
	cg, err := detectCgroups(o.Cgroups, filepath.Join(o.CgroupParent, dirID(o.Dir)))
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("local backend: %w", err)
	}
	b := &Backend{opts: o, log: o.Log, clock: o.Clock, cgroups: cg, lock: lock,
		instances: map[string]*instance{}, detach: make(chan struct{})}
	if cg.mode == CgroupOff {
		b.log.Info("cgroups unavailable or disabled: container CPU and memory limits are not enforced")
	} else {
		b.log.V(1).Info("enforcing container limits with cgroups", "mode", cg.mode, "parents", cg.parents)
	}
	if o.SimulatedStartDelay > 0 {
		b.log.Info("SIMULATION: every instance stays Pending before starting, imitating a cloud cold start",
			"simulatedStartDelay", o.SimulatedStartDelay)
	}
	if err := b.readopt(); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func fillDefaults(o *Options) {
	if o.CgroupParent == "" {
		o.CgroupParent = "surge-local"
	}
	if o.BackoffInitial <= 0 {
		o.BackoffInitial = 10 * time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 300 * time.Second
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 200 * time.Millisecond
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Log.GetSink() == nil {
		o.Log = logr.Discard()
	}
	if o.Capacity.MilliCPU == 0 {
		o.Capacity.MilliCPU = int64(runtime.NumCPU()) * 1000
	}
	if o.Capacity.MemoryBytes == 0 {
		var si unix.Sysinfo_t
		if unix.Sysinfo(&si) == nil {
			o.Capacity.MemoryBytes = int64(si.Totalram) * int64(si.Unit)
		}
	}
	if o.Capacity.Pods == 0 {
		o.Capacity.Pods = 110
	}
}

// lockDir takes an exclusive, non-blocking flock on <dir>/lock. The kernel drops
// it when the process dies, so a kill -9 never leaves a stale lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("local backend: open lock: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("local backend: state directory %s is in use by another backend: %w", dir, err)
	}
	return f, nil
}

// Create starts an instance for spec unless one exists for spec.Ref.UID. It
// rejects, with an Unsupported error, specs whose images are not in the image map
// or whose executables are missing.
func (b *Backend) Create(ctx context.Context, spec *providers.InstanceSpec) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	execs, err := b.validate(spec)
	if err != nil {
		return err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	if in, ok := b.instances[spec.Ref.UID]; ok {
		b.mu.Unlock()
		<-in.ready // a concurrent Create of the same UID shares its outcome
		return in.setupErr
	}
	in := b.newInstance(spec, execs)
	b.instances[spec.Ref.UID] = in
	b.mu.Unlock()
	// Directories, cgroups and state are written outside b.mu: creating a memory
	// cgroup takes the kernel ~20 ms, and a burst of creates must overlap.
	if err := in.setup(); err != nil {
		in.setupErr = err
		b.mu.Lock()
		if b.instances[spec.Ref.UID] == in {
			delete(b.instances, spec.Ref.UID)
		}
		b.mu.Unlock()
		close(in.ready)
		return err
	}
	close(in.ready)
	in.run(nil)
	b.log.V(1).Info("instance created", "pod", spec.Ref.Namespace+"/"+spec.Ref.Name, "uid", spec.Ref.UID)
	return nil
}

func (b *Backend) validate(spec *providers.InstanceSpec) ([]string, error) {
	unsupported := func(format string, a ...any) error {
		return providers.NewError(providers.KindUnsupported, fmt.Errorf("local backend: "+format, a...))
	}
	if spec == nil || spec.Ref.UID == "" || !containerName.MatchString(spec.Ref.UID) {
		return nil, unsupported("spec needs a pod UID of lower-case letters, digits and dashes")
	}
	if len(spec.Containers) == 0 {
		return nil, unsupported("pod %s/%s has no containers", spec.Ref.Namespace, spec.Ref.Name)
	}
	seen := map[string]bool{}
	execs := make([]string, len(spec.Containers))
	for i, c := range spec.Containers {
		if !containerName.MatchString(c.Name) || seen[c.Name] {
			return nil, unsupported("container name %q is invalid or repeated", c.Name)
		}
		seen[c.Name] = true
		exe, ok := b.opts.Images.Resolve(c.Image)
		if !ok {
			return nil, unsupported("image %q of container %q is not in the image map (mapped: %v)",
				c.Image, c.Name, b.opts.Images.Images())
		}
		if err := unix.Access(exe, unix.X_OK); err != nil {
			return nil, unsupported("image %q maps to %s, which is not an executable file: %v", c.Image, exe, err)
		}
		execs[i] = exe
	}
	return execs, nil
}

// Delete stops the instance's processes (SIGTERM to each process group and
// cgroup, SIGKILL after the spec's TerminationGracePeriod), removes its cgroups and
// state, and returns once they are gone. If ctx ends first, Delete returns ctx's
// error and the stop completes in the background.
func (b *Backend) Delete(ctx context.Context, ref providers.InstanceRef) error {
	b.mu.Lock()
	in, ok := b.instances[ref.UID]
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if !ok {
		return providers.NewError(providers.KindNotFound,
			fmt.Errorf("local backend: no instance for pod %s/%s uid %s", ref.Namespace, ref.Name, ref.UID))
	}
	done := in.stop()
	select {
	case err := <-done:
		b.mu.Lock()
		if b.instances[ref.UID] == in {
			delete(b.instances, ref.UID)
		}
		b.mu.Unlock()
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// List returns the status of every instance.
func (b *Backend) List(ctx context.Context) ([]providers.InstanceStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, ErrClosed
	}
	ins := make([]*instance, 0, len(b.instances))
	for _, in := range b.instances {
		ins = append(ins, in)
	}
	b.mu.Unlock()
	now := b.clock.Now()
	out := make([]providers.InstanceStatus, 0, len(ins))
	for _, in := range ins {
		if st, ok := in.status(now); ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// Dir returns the backend's state directory.
func (b *Backend) Dir() string { return b.opts.Dir }

// Capacity reports Options.Capacity (filled from the machine).
func (b *Backend) Capacity(ctx context.Context) (providers.Resources, error) {
	return b.opts.Capacity, ctx.Err()
}

// Close detaches from every instance, leaving its processes running and its state
// on disk for the next backend on the same Dir to re-adopt, and releases the
// directory lock. It does not stop anything.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.detach)
	ins := make([]*instance, 0, len(b.instances))
	for _, in := range b.instances {
		ins = append(ins, in)
	}
	b.mu.Unlock()
	for _, in := range ins {
		in.wg.Wait()
	}
	for _, p := range b.cgroups.parents {
		// Only empty directories go: a backend with live instances keeps its cgroups.
		if os.Remove(p) == nil {
			_ = os.Remove(filepath.Dir(p))
		}
	}
	return b.lock.Close()
}

// dirID names a backend's parent cgroup after its state directory, so backends
// with different directories never see each other's cgroups as orphans.
func dirID(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	sum := sha256.Sum256([]byte(abs))
	return hex.EncodeToString(sum[:6])
}

// Purge takes down everything a backend recorded under o.Dir: it re-adopts the
// instances, deletes each (SIGTERM, SIGKILL after its grace period), removes
// their cgroups and state, and releases the directory. Use it to retire a node's
// local instances for good (surge-vnode itself never does this on shutdown).
func Purge(ctx context.Context, o Options) error {
	b, err := New(o)
	if err != nil {
		return err
	}
	list, err := b.List(ctx)
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, st := range list {
		if err := b.Delete(ctx, st.Ref); err != nil && !providers.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	errs = append(errs, b.Close())
	return errors.Join(errs...)
}
