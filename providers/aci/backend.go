package aci

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/providers"
)

// Compile-time checks of the capabilities this backend offers.
var (
	_ providers.Backend   = (*Backend)(nil)
	_ providers.LogReader = (*Backend)(nil)
)

// Backend runs pods as Azure Container Instances container groups, one group per
// pod. It is safe for concurrent use.
//
//   - Create translates the spec, GETs the group to stay idempotent per UID,
//     sends the PUT and returns; the long-running operation is polled in the
//     background and a terminal failure shows in List.
//   - Delete sends the DELETE; a 204 (ARM: nothing to delete) or 404 is NotFound.
//   - List makes one paged list call of the resource group (concurrent callers
//     share it), plus at most Options.DetailGetsPerList GETs to read the container
//     states ARM's list leaves out.
//   - Every ARM call goes through the SDK's retry policy; throttling or 5xx that
//     outlive it start our back-off (backoff.go) and are reported as Transient.
type Backend struct {
	log    logr.Logger
	opts   Options
	set    settings
	tr     translator
	clock  clock.WithTicker
	groups *armaci.ContainerGroupsClient
	ctrs   *armaci.ContainersClient
	bo     *backoff
	locks  keyedMutex

	bg     context.Context // background LRO polls; canceled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	creating map[string]*operation // pod UID -> create LRO being polled
	deleting map[string]*operation // pod UID -> delete LRO being polled
	failed   map[string]failure    // pod UID -> terminal create failure
	details  map[string]detail     // group name -> last GET (instance views)
	listing  *listCall
}

// failure is a create whose long-running operation failed.
type failure struct {
	reason, message string
}

// operation is a long-running operation polled in the background.
type operation struct {
	cancel context.CancelFunc
}

// New builds the backend. ctx bounds its background work (polling long-running
// operations), as does Close. Without opts.Credential it authenticates with
// azidentity.DefaultAzureCredential.
func New(ctx context.Context, opts Options, log logr.Logger) (*Backend, error) {
	set, err := opts.parse()
	if err != nil {
		return nil, fmt.Errorf("aci options: %w", err)
	}
	cred := opts.Credential
	if cred == nil {
		if cred, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
			return nil, fmt.Errorf("aci: azure credential: %w", err)
		}
	}
	retries := opts.MaxRetries
	if retries == 0 {
		retries = -1 // the SDK reads 0 as "default"; ours means none
	}
	co := &arm.ClientOptions{ClientOptions: policy.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: retries, RetryDelay: opts.RetryDelay, MaxRetryDelay: opts.MaxRetryDelay},
		Transport: opts.Transport,
		Telemetry: policy.TelemetryOptions{ApplicationID: "surge-vnode"},
	}}
	factory, err := armaci.NewClientFactory(opts.SubscriptionID, cred, co)
	if err != nil {
		return nil, fmt.Errorf("aci: client: %w", err)
	}
	clk := opts.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	bg, cancel := context.WithCancel(ctx)
	b := &Backend{
		log: log, opts: opts, set: set, clock: clk,
		groups: factory.NewContainerGroupsClient(),
		ctrs:   factory.NewContainersClient(),
		bo:     newBackoff(clk, opts.BackoffBase, opts.BackoffMax),
		bg:     bg, cancel: cancel,
		creating: map[string]*operation{},
		deleting: map[string]*operation{},
		failed:   map[string]failure{},
		details:  map[string]detail{},
		tr: translator{
			location: set.loc, osType: set.osType, subnetID: opts.SubnetID, publicIP: opts.PublicIP,
			dnsNameLabel: opts.DNSNameLabel, gpuSKU: set.gpuSKU, owner: opts.Owner,
			defaultMilliCPU: set.defaultMilliCPU, defaultMemory: set.defaultMemory,
		},
	}
	return b, nil
}

// Close stops the background polling of long-running operations and waits for
// it. Container groups are left alone, for a restarted surge-vnode to re-adopt.
func (b *Backend) Close() error {
	b.cancel()
	b.wg.Wait()
	return nil
}

// Capacity reports the capacity configured by flags. ACI's regional quotas are
// per subscription and shared with everything else in it, so they are not a
// node's capacity; running out shows as QuotaExceeded on Create instead.
func (b *Backend) Capacity(context.Context) (providers.Resources, error) {
	return b.set.capacity, nil
}

// Create creates the container group for spec, unless one exists for its UID
// (then it returns nil and changes nothing, even for a different or unsupported
// spec). A spec ACI cannot run is refused with an Unsupported error.
func (b *Backend) Create(ctx context.Context, spec *providers.InstanceSpec) error {
	name := GroupName(spec.Ref)
	cg, unsupported := b.tr.group(spec, b.clock.Now())
	unlock := b.locks.lock(spec.Ref.UID)
	defer unlock()
	b.mu.Lock()
	_, inFlight := b.creating[spec.Ref.UID]
	b.mu.Unlock()
	if inFlight {
		return nil
	}
	if err := b.bo.check(); err != nil {
		return err
	}
	existing, err := b.groups.Get(ctx, b.set.group, name, nil)
	if err == nil {
		if uid := deref(existing.Tags[TagUID]); uid != spec.Ref.UID {
			return fmt.Errorf("aci: container group %s exists for pod UID %q, not %q", name, uid, spec.Ref.UID)
		}
		return nil
	}
	if err = b.observe(classify("get", name, err)); !providers.IsNotFound(err) {
		return err
	}
	if unsupported != nil {
		return unsupported
	}
	poller, err := b.groups.BeginCreateOrUpdate(ctx, b.set.group, name, cg, nil)
	if err != nil {
		return b.observe(classify("create", name, err))
	}
	b.bo.success()
	b.log.V(1).Info("container group create accepted", "group", name, "namespace", spec.Ref.Namespace, "pod", spec.Ref.Name)
	b.mu.Lock()
	delete(b.failed, spec.Ref.UID)
	b.mu.Unlock()
	b.startCreatePoll(spec.Ref.UID, name, poller)
	return nil
}

// Delete deletes the container group of ref.
func (b *Backend) Delete(ctx context.Context, ref providers.InstanceRef) error {
	name := GroupName(ref)
	unlock := b.locks.lock(ref.UID)
	defer unlock()
	if err := b.bo.check(); err != nil {
		return err
	}
	b.mu.Lock()
	if op := b.creating[ref.UID]; op != nil {
		op.cancel()
		delete(b.creating, ref.UID)
	}
	_, deleting := b.deleting[ref.UID]
	b.mu.Unlock()
	if deleting {
		return nil
	}
	var raw *http.Response
	poller, err := b.groups.BeginDelete(runtime.WithCaptureResponse(ctx, &raw), b.set.group, name, nil)
	if err != nil {
		return b.observe(classify("delete", name, err))
	}
	b.bo.success()
	b.mu.Lock()
	delete(b.failed, ref.UID)
	delete(b.details, name)
	b.mu.Unlock()
	if raw != nil && raw.StatusCode == http.StatusNoContent {
		return providers.NewError(providers.KindNotFound, fmt.Errorf("aci delete %s: no such container group", name))
	}
	b.log.V(1).Info("container group delete accepted", "group", name, "namespace", ref.Namespace, "pod", ref.Name)
	if !poller.Done() {
		b.startDeletePoll(ref.UID, name, poller)
	}
	return nil
}

// observe feeds err to the back-off and returns it.
func (b *Backend) observe(err error) error {
	if err != nil && backoffWorthy(err) {
		d := b.bo.failure(err)
		b.log.Info("backing off after throttling or server errors", "delay", d, "err", err)
	}
	return err
}

// keyedMutex serializes work per key (pod UID).
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyLock
}

type keyLock struct {
	mu   sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}

// sleep waits d on the backend's clock; false if ctx ended first.
func (b *Backend) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := b.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C():
		return true
	}
}
