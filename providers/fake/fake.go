// Package fake is an in-memory providers.Backend for tests. It is a fake, not a
// backend: nothing runs. Instances move through their phases on an injected clock
// according to a Behavior chosen by image. The fake is safe for concurrent use,
// never keeps or modifies its callers' objects, records every call, and takes
// injected errors (one-shot or at a rate) and latencies.
package fake

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/providers"
)

// Behavior is what an instance's containers do, chosen by image.
type Behavior struct {
	// StartAfter is how long an instance stays Pending after Create.
	StartAfter time.Duration
	// ExitAfter, if > 0, makes each container exit this long after it starts.
	ExitAfter time.Duration
	// ExitCode is the exit code when a container exits.
	ExitCode int32
	// FailReason, if set, makes the instance fail instead of starting, with this
	// reason (an image that cannot be pulled, say).
	FailReason string
	// RestartBackoff is the pause before a container restarts.
	RestartBackoff time.Duration
}

// Options configures a Backend.
type Options struct {
	// Clock drives the instances' lifecycles; default the real clock.
	Clock clock.Clock
	// Capacity is what Capacity reports; default 1,000 pods, 1,000 CPUs, 4 TiB.
	Capacity providers.Resources
	// Default is the behavior of images not in Behaviors.
	Default Behavior
	// Behaviors maps an image to its behavior.
	Behaviors map[string]Behavior
	// Seed seeds the random source used by error rates; 0 picks 1.
	Seed uint64
	// IP is the address reported for running instances; default 127.0.0.1.
	IP string
}

// Backend is the fake backend.
type Backend struct {
	clock clock.Clock
	opts  Options

	mu        sync.Mutex
	instances map[string]*instance // by UID
	calls     []Call
	next      map[Op][]error
	rates     map[Op]Rate
	latency   map[Op]time.Duration
	rnd       *rand.Rand
}

var (
	_ providers.Backend   = (*Backend)(nil)
	_ providers.LogReader = (*Backend)(nil)
)

// New returns an empty fake backend.
func New(o Options) *Backend {
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	if o.Capacity == (providers.Resources{}) {
		o.Capacity = providers.Resources{MilliCPU: 1_000_000, MemoryBytes: 4 << 40, Pods: 1000}
	}
	if o.IP == "" {
		o.IP = "127.0.0.1"
	}
	seed := o.Seed
	if seed == 0 {
		seed = 1
	}
	return &Backend{
		clock:     o.Clock,
		opts:      o,
		instances: map[string]*instance{},
		next:      map[Op][]error{},
		rates:     map[Op]Rate{},
		latency:   map[Op]time.Duration{},
		rnd:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Create records an instance for spec unless one exists for spec.Ref.UID.
func (b *Backend) Create(ctx context.Context, spec *providers.InstanceSpec) error {
	if spec == nil || spec.Ref.UID == "" {
		return providers.NewError(providers.KindUnsupported, fmt.Errorf("fake: spec without a pod UID"))
	}
	inj, err := b.begin(ctx, OpCreate, spec.Ref)
	if err != nil && !inj.afterEffect {
		return err
	}
	b.mu.Lock()
	if _, ok := b.instances[spec.Ref.UID]; !ok {
		b.instances[spec.Ref.UID] = newInstance(spec.DeepCopy(), b.behavior(spec), b.clock.Now())
	}
	b.mu.Unlock()
	return err
}

// Delete removes the instance of ref.UID.
func (b *Backend) Delete(ctx context.Context, ref providers.InstanceRef) error {
	inj, err := b.begin(ctx, OpDelete, ref)
	if err != nil && !inj.afterEffect {
		return err
	}
	b.mu.Lock()
	_, ok := b.instances[ref.UID]
	delete(b.instances, ref.UID)
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if !ok {
		return providers.NewError(providers.KindNotFound, fmt.Errorf("fake: no instance for pod %s/%s uid %s", ref.Namespace, ref.Name, ref.UID))
	}
	return nil
}

// List returns a copy of every instance's status as of the clock's now.
func (b *Backend) List(ctx context.Context) ([]providers.InstanceStatus, error) {
	if _, err := b.begin(ctx, OpList, providers.InstanceRef{}); err != nil {
		return nil, err
	}
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]providers.InstanceStatus, 0, len(b.instances))
	for _, in := range b.instances {
		in.advance(now)
		out = append(out, in.status(b.opts.IP))
	}
	return out, nil
}

// Capacity returns Options.Capacity.
func (b *Backend) Capacity(ctx context.Context) (providers.Resources, error) {
	if _, err := b.begin(ctx, OpCapacity, providers.InstanceRef{}); err != nil {
		return providers.Resources{}, err
	}
	return b.opts.Capacity, nil
}

// Spec returns a copy of the spec the instance of uid was created with.
func (b *Backend) Spec(uid string) (*providers.InstanceSpec, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[uid]
	if !ok {
		return nil, false
	}
	return in.spec.DeepCopy(), true
}

// Len returns how many instances the fake holds.
func (b *Backend) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.instances)
}

// Crash ends every container of the instance of uid now with exitCode, as if the
// workload had died; the restart policy then applies.
func (b *Backend) Crash(uid string, exitCode int32) bool {
	now := b.clock.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	in, ok := b.instances[uid]
	if ok {
		in.advance(now)
		in.crash(now, exitCode)
	}
	return ok
}

func (b *Backend) behavior(spec *providers.InstanceSpec) Behavior {
	for _, c := range spec.Containers {
		if bh, ok := b.opts.Behaviors[c.Image]; ok {
			return bh
		}
	}
	return b.opts.Default
}
