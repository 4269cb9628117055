// Package store is surge-scaler's sample store: the only owner of the trigger
// Scalers (and so of broker connections), and the MetricSource the metrics API reads.
//
// The controller registers each ScaledObject's triggers with Set and removes them
// with Remove; the poller calls MeasureOwner every pollingInterval; the metrics API
// calls Latest (cached) or Refresh (measure now). Measure is single-flight per metric:
// concurrent callers (a poll and HPA queries) share one Scaler.Measure, so a Scaler is
// never called from two goroutines at once, as its contract requires.
//
// Sample.ConsecutiveFailures counts failed polls (MeasureOwner) since the last
// successful measurement. A failed read-through (Refresh) sets Err but does not
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
	"github.com/surge-autoscaler/surge/scaler"
)

var _ metricsapi.MetricSource = (*Store)(nil)

// ErrClosed is returned by Measure after Close.
var ErrClosed = errors.New("sample store closed")

// Owner names the ScaledObject that registered a metric.
type Owner = types.NamespacedName

// Metric is one trigger registered with the store.
type Metric struct {
	// Key is the metric's namespace and stable name.
	Key metricsapi.MetricKey
	// Hash identifies the resolved trigger spec (type, metadata, auth, env). Set
	// keeps an entry (its Scaler and samples) whose Hash is unchanged.
	Hash string
	// Trigger is the built trigger. The store takes ownership of Trigger.Scaler and
	// closes it on Remove, on Set without it, or on Close. It may be nil when Has
	// reported the same Hash (the existing Scaler is kept).
	Trigger *scaler.Trigger
	// TriggerName and TriggerType label the Prometheus series.
	TriggerName, TriggerType string
	// Labels are the sample's labels (the HPA metric's selector matches them).
	Labels map[string]string
	// PollingInterval, Fallback and UseCachedMetrics are copied into each Sample.
	PollingInterval  time.Duration
	Fallback         *metricsapi.Fallback
	UseCachedMetrics bool
}

// Options configure a Store.
type Options struct {
	// Clock stamps samples; default the real clock.
	Clock clock.PassiveClock
	// MeasureTimeout bounds one Scaler.Measure; default 10 s.
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
	entries map[metricsapi.MetricKey]*entry
	owners  map[Owner][]metricsapi.MetricKey
	closed  bool
}

type entry struct {
	owner Owner
	meta  Metric // Trigger is kept for Target/Activation; its Scaler is scaler below
	sc    scaler.Scaler
	ser   *series

	mu      sync.Mutex
	sample  metricsapi.Sample
	flight  *call
	retired bool // removed from the store: close sc once no measurement runs
}

type call struct {
	done   chan struct{}
	sample metricsapi.Sample
}

// New returns an empty Store.
func New(opts Options) *Store {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.MeasureTimeout <= 0 {
		opts.MeasureTimeout = 10 * time.Second
	}
	return &Store{opts: opts, entries: map[metricsapi.MetricKey]*entry{}, owners: map[Owner][]metricsapi.MetricKey{}}
}

// Has reports whether key is registered with this Hash, so the caller can skip
// building the trigger again and pass a Metric with a nil Trigger to Set.
func (s *Store) Has(key metricsapi.MetricKey, hash string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[key]
	return ok && e.meta.Hash == hash
}

// Set makes metrics the owner's complete set, in order. Entries with an unchanged
// Hash keep their Scaler and samples (their labels, interval and fallback are
// updated); others are replaced, and the owner's metrics not in the set are removed.
// Removed and replaced Scalers are closed (after a running measurement ends). A
// Metric with a nil Trigger must have an existing entry with the same Hash.
func (s *Store) Set(owner Owner, metrics []Metric) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		closeAll(metrics)
		return ErrClosed
	}
	for _, m := range metrics {
		if e, ok := s.entries[m.Key]; ok && e.owner != owner {
			closeAll(metrics)
			return fmt.Errorf("metric %s/%s is already registered by %s", m.Key.Namespace, m.Key.Name, e.owner)
		}
		if m.Trigger == nil {
			if e, ok := s.entries[m.Key]; !ok || e.meta.Hash != m.Hash {
				closeAll(metrics)
				return fmt.Errorf("metric %s/%s: no trigger given and none registered with hash %s", m.Key.Namespace, m.Key.Name, m.Hash)
			}
		}
	}
	keep := make(map[metricsapi.MetricKey]bool, len(metrics))
	keys := make([]metricsapi.MetricKey, 0, len(metrics))
	for _, m := range metrics {
		keep[m.Key] = true
		keys = append(keys, m.Key)
		old, ok := s.entries[m.Key]
		if ok && old.meta.Hash == m.Hash {
			if m.Trigger != nil && m.Trigger.Scaler != old.sc {
				closeScaler(m.Trigger.Scaler)
			}
			old.mu.Lock()
			m.Trigger = old.meta.Trigger
			old.meta = m
			old.sample = withMeta(old.sample, m)
			old.mu.Unlock()
			continue
		}
		if ok {
			s.retire(old)
		}
		s.entries[m.Key] = &entry{owner: owner, meta: m, sc: m.Trigger.Scaler, sample: withMeta(metricsapi.Sample{}, m),
			ser: s.opts.Metrics.series(owner, m)}
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

// Remove drops every metric of owner and closes their Scalers.
func (s *Store) Remove(owner Owner) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range s.owners[owner] {
		s.retire(s.entries[k])
		delete(s.entries, k)
	}
	delete(s.owners, owner)
}

// retire closes e's Scaler now or when its running measurement ends. s.mu is held.
func (s *Store) retire(e *entry) {
	if e == nil {
		return
	}
	s.opts.Metrics.forget(e.owner, e.meta)
	e.mu.Lock()
	e.retired = true
	idle := e.flight == nil
	e.mu.Unlock()
	if idle {
		closeScaler(e.sc)
	}
}

// Close closes every Scaler; later Measure and Set calls fail with ErrClosed.
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
func (s *Store) Keys() []metricsapi.MetricKey {
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

// Latest returns key's latest sample without measuring.
func (s *Store) Latest(_ context.Context, key metricsapi.MetricKey) (metricsapi.Sample, error) {
	e, err := s.entry(key)
	if err != nil {
		return metricsapi.Sample{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sample, nil
}

// Metrics returns owner's registered metrics in order (Trigger carries Target and
// Activation).
func (s *Store) Metrics(owner Owner) []Metric {
	s.mu.RLock()
	keys := slices.Clone(s.owners[owner])
	s.mu.RUnlock()
	m, _ := s.metas(keys)
	return m
}

func (s *Store) metas(keys []metricsapi.MetricKey) ([]Metric, error) {
	out := make([]Metric, 0, len(keys))
	for _, k := range keys {
		e, err := s.entry(k)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		out = append(out, e.meta)
		e.mu.Unlock()
	}
	return out, nil
}

func (s *Store) entry(key metricsapi.MetricKey) (*entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	e, ok := s.entries[key]
	if !ok {
		return nil, fmt.Errorf("metric %s/%s: %w", key.Namespace, key.Name, metricsapi.ErrUnknownMetric)
	}
	return e, nil
}

func withMeta(smp metricsapi.Sample, m Metric) metricsapi.Sample {
	smp.PollingInterval = m.PollingInterval
	smp.Labels = m.Labels
	smp.Fallback = m.Fallback
	smp.UseCachedMetrics = m.UseCachedMetrics
	return smp
}

func closeAll(ms []Metric) {
	for _, m := range ms {
		if m.Trigger != nil {
			closeScaler(m.Trigger.Scaler)
		}
	}
}

func closeScaler(sc scaler.Scaler) {
	if sc != nil {
		_ = sc.Close() // nothing to do about a failed close; the Scaler logs its own
	}
}
