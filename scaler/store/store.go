// Package store is surge-scaler's sample store: the only owner of the trigger
// Sources (and so of broker connections), and the [metricsapi.MetricSource] the
// metrics API reads.
//
// The controller registers each ScaledObject's triggers with [Store.Set] and removes
// them with [Store.Remove]; the poller calls [Store.MeasureOwner] every
// pollingInterval; the metrics API calls [Store.Latest] (cached) or [Store.Refresh]
// (measure now). Measuring is single-flight per metric: concurrent callers (a poll and
// HPA queries) share one Source.Measure, so a Source is never called from two
// goroutines at once, as its contract requires.
//
// [trigger.Sample].ConsecutiveFailures counts failed polls (MeasureOwner) since the
// last successful measurement. A failed read-through (Refresh) sets Err but does not
// count, so fallback begins after failureThreshold × pollingInterval, however often
// the HPA asks; any successful measurement resets the count.
package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

var _ metricsapi.MetricSource = (*Store)(nil)

// ErrClosed is returned by Measure after Close.
var ErrClosed = errors.New("sample store closed")

// Owner names the ScaledObject that registered a metric.
type Owner = types.NamespacedName

// Registration is one trigger registered with the store: its Metric and, when it was
// built anew, its Source.
type Registration struct {
	trigger.Metric
	// Source measures the trigger. The store takes ownership and closes it on Remove,
	// on a Set without it, or on Close. It is nil when Has reported the same SpecHash
	// (the registered Source is kept).
	Source trigger.Source
}

// Options configure a Store.
type Options struct {
	// Clock stamps samples; default the real clock.
	Clock clock.PassiveClock
	// MeasureTimeout bounds one Source.Measure; default 10 s.
	MeasureTimeout time.Duration
	// Metrics records Prometheus series; nil records none.
	Metrics *Metrics
	// Log is the store's logger.
	Log logr.Logger
}

// Store holds the latest sample of every registered metric.
type Store struct {
	opts    Options
	mu      sync.RWMutex
	entries map[trigger.Key]*entry
	owners  map[Owner][]trigger.Key
	closed  bool
}

type entry struct {
	owner Owner
	src   trigger.Source
	ser   *series

	mu      sync.Mutex
	meta    trigger.Metric
	sample  trigger.Sample
	flight  *call
	retired bool // removed from the store: close src once no measurement runs
}

type call struct {
	done    chan struct{}
	reading trigger.Reading
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MeasureTimeout <= 0 {
		opts.MeasureTimeout = 10 * time.Second
	}
	return &Store{opts: opts, entries: map[trigger.Key]*entry{}, owners: map[Owner][]trigger.Key{}}
}

// Has reports whether key is registered with this SpecHash, so the caller can skip
// building the trigger again and pass a Registration without a Source to Set.
func (s *Store) Has(key trigger.Key, specHash string) bool {
	s.mu.RLock()
	e, ok := s.entries[key]
	s.mu.RUnlock()
	if !ok {
		return false
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.meta.SpecHash == specHash
}

// Set makes regs the owner's complete set, in order. Entries with an unchanged
// SpecHash keep their Source and samples (their Metric is updated: labels, interval,
// fallback); others are replaced, and the owner's metrics not in the set are removed.
// Removed and replaced Sources are closed (after a running measurement ends). A
// Registration without a Source must have an entry with the same SpecHash.
func (s *Store) Set(owner Owner, regs []Registration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkSet(owner, regs); err != nil {
		closeAll(regs)
		return err
	}
	keep := make(map[trigger.Key]bool, len(regs))
	keys := make([]trigger.Key, 0, len(regs))
	for _, r := range regs {
		keep[r.Key] = true
		keys = append(keys, r.Key)
		old, ok := s.entries[r.Key]
		if ok && old.specHash() == r.SpecHash {
			if r.Source != nil && r.Source != old.src {
				closeSource(r.Source)
			}
			old.mu.Lock()
			old.meta = r.Metric
			old.mu.Unlock()
			continue
		}
		if ok {
			s.retire(old)
		}
		s.entries[r.Key] = &entry{owner: owner, meta: r.Metric, src: r.Source, ser: s.opts.Metrics.series(owner, r.Metric)}
	}
	for _, k := range s.owners[owner] {
		if !keep[k] {
			s.retire(s.entries[k])
			delete(s.entries, k)
		}
	}
	if len(keys) == 0 {
		delete(s.owners, owner)
	} else {
		s.owners[owner] = keys
	}
	return nil
}

// checkSet reports why regs cannot become owner's set. s.mu is held.
func (s *Store) checkSet(owner Owner, regs []Registration) error {
	if s.closed {
		return ErrClosed
	}
	for _, r := range regs {
		e, ok := s.entries[r.Key]
		if ok && e.owner != owner {
			return fmt.Errorf("metric %s/%s is already registered by %s", r.Key.Namespace, r.Key.Name, e.owner)
		}
		if r.Source == nil && (!ok || e.specHash() != r.SpecHash) {
			return fmt.Errorf("metric %s/%s: no source given and none registered with hash %s", r.Key.Namespace, r.Key.Name, r.SpecHash)
		}
	}
	return nil
}

func (e *entry) specHash() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.meta.SpecHash
}

// Remove drops every metric of owner and closes their Sources.
func (s *Store) Remove(owner Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.owners[owner] {
		s.retire(s.entries[k])
		delete(s.entries, k)
	}
	delete(s.owners, owner)
}

// retire closes e's Source now or when its running measurement ends. s.mu is held.
func (s *Store) retire(e *entry) {
	if e == nil {
		return
	}
	e.mu.Lock()
	s.opts.Metrics.forget(e.owner, e.meta)
	e.retired = true
	idle := e.flight == nil
	e.mu.Unlock()
	if idle {
		closeSource(e.src)
	}
}

// Close closes every Source; later Measure and Set calls fail with ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for k, e := range s.entries {
		s.retire(e)
		delete(s.entries, k)
	}
	clear(s.owners)
	return nil
}

// Keys lists every registered metric.
func (s *Store) Keys() []trigger.Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Collect(maps.Keys(s.entries))
}

// Owners lists every owner with registered metrics.
func (s *Store) Owners() []Owner {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Collect(maps.Keys(s.owners))
}

// Latest returns key's latest reading without measuring.
func (s *Store) Latest(_ context.Context, key trigger.Key) (trigger.Reading, error) {
	e, err := s.entry(key)
	if err != nil {
		return trigger.Reading{}, err
	}
	return e.read(), nil
}

// Metrics returns owner's registered metrics in order.
func (s *Store) Metrics(owner Owner) []trigger.Metric {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]trigger.Metric, 0, len(s.owners[owner]))
	for _, k := range s.owners[owner] {
		out = append(out, s.entries[k].read().Metric)
	}
	return out
}

func (e *entry) read() trigger.Reading {
	e.mu.Lock()
	defer e.mu.Unlock()
	return trigger.Reading{Metric: e.meta, Sample: e.sample}
}

func (s *Store) entry(key trigger.Key) (*entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	e, ok := s.entries[key]
	if !ok {
		return nil, unknown(key)
	}
	return e, nil
}

func unknown(key trigger.Key) error {
	return fmt.Errorf("metric %s/%s: %w", key.Namespace, key.Name, trigger.ErrUnknownMetric)
}

func closeAll(regs []Registration) {
	for _, r := range regs {
		closeSource(r.Source)
	}
}

func closeSource(src trigger.Source) {
	if src != nil {
		_ = src.Close() // nothing to do about a failed close; the Source logs its own
	}
}
