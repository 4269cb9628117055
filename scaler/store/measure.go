package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler"
)

// Refresh measures key now (sharing a measurement already running) and returns
// the new sample. A failed measurement is a sample with Err set, not an error; the
// error is ErrUnknownMetric (wrapped), ErrClosed or ctx's.
func (s *Store) Refresh(ctx context.Context, key metricsapi.MetricKey) (metricsapi.Sample, error) {
	return s.Measure(ctx, key)
}

// Measure is Refresh.
func (s *Store) Measure(ctx context.Context, key metricsapi.MetricKey) (metricsapi.Sample, error) {
	e, err := s.entry(key)
	if err != nil {
		return metricsapi.Sample{}, err
	}
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		return metricsapi.Sample{}, fmt.Errorf("metric %s/%s: %w", key.Namespace, key.Name, metricsapi.ErrUnknownMetric)
	}
	c := e.flight
	if c == nil {
		c = &call{done: make(chan struct{})}
		e.flight = c
		go s.measure(ctx, e, c)
	}
	e.mu.Unlock()
	select {
	case <-c.done:
		return c.sample, nil
	case <-ctx.Done():
		return metricsapi.Sample{}, ctx.Err()
	}
}

// measure runs one Scaler.Measure for everyone waiting on c. It is detached from the
// first caller's cancellation (others may wait) but bounded by MeasureTimeout.
func (s *Store) measure(ctx context.Context, e *entry, c *call) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.MeasureTimeout)
	start := s.opts.Clock.Now()
	v, err := measureSafely(mctx, e.sc)
	cancel()
	now := s.opts.Clock.Now()

	e.mu.Lock()
	smp := e.sample
	if err != nil {
		smp.Err = err
	} else {
		smp.Value, smp.Time, smp.Err, smp.ConsecutiveFailures = v, now, nil, 0
	}
	e.sample = smp
	e.flight = nil
	retired := e.retired
	meta := e.meta
	e.mu.Unlock()

	c.sample = smp
	close(c.done)
	e.ser.observe(v, err, now.Sub(start))
	if err != nil {
		s.opts.Log.V(1).Info("measurement failed", "scaledObject", e.owner, "metric", meta.Key.Name, "err", err.Error())
	}
	if retired {
		closeScaler(e.sc)
	}
}

// measureSafely turns a panicking Scaler into a failed measurement.
func measureSafely(ctx context.Context, sc scaler.Scaler) (v float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("scaler panicked: %v", r)
		}
	}()
	return sc.Measure(ctx)
}

// MeasureOwner measures every metric of owner concurrently and returns their samples
// in registration order, with their metrics.
func (s *Store) MeasureOwner(ctx context.Context, owner Owner) ([]metricsapi.Sample, []Metric, error) {
	s.mu.RLock()
	keys := slices.Clone(s.owners[owner])
	s.mu.RUnlock()
	if len(keys) == 0 {
		return nil, nil, fmt.Errorf("%s: %w", owner, metricsapi.ErrUnknownMetric)
	}
	samples := make([]metricsapi.Sample, len(keys))
	errs := make([]error, len(keys))
	if len(keys) == 1 {
		samples[0], errs[0] = s.Measure(ctx, keys[0])
	} else {
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Go(func() { samples[i], errs[i] = s.Measure(ctx, k) })
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nil, err
	}
	metas, err := s.metas(keys)
	if err != nil {
		return nil, nil, err
	}
	for i, k := range keys {
		if samples[i].Err == nil {
			continue
		}
		e, err := s.entry(k)
		if err != nil {
			return nil, nil, err
		}
		e.mu.Lock()
		e.sample.ConsecutiveFailures++
		samples[i].ConsecutiveFailures = e.sample.ConsecutiveFailures
		e.mu.Unlock()
	}
	return samples, metas, nil
}

// SetFallbackReplicas sets the replica count the metrics API serves (as Replicas ×
// Target) for owner's metrics while fallback applies; activation computes it from
// fallback.behavior and the current replica count.
func (s *Store) SetFallbackReplicas(owner Owner, replicas int32) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, k := range s.owners[owner] {
		e := s.entries[k]
		e.mu.Lock()
		if f := e.meta.Fallback; f != nil && f.Replicas != replicas {
			nf := *f
			nf.Replicas = replicas
			e.meta.Fallback = &nf
			e.sample.Fallback = &nf
		}
		e.mu.Unlock()
	}
}
