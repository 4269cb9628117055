package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Refresh measures key now (sharing a measurement already running) and returns
// the new reading. A failed measurement is a reading with Err set, not an error; the
// error is ErrUnknownMetric (wrapped), ErrClosed or ctx's.
func (s *Store) Refresh(ctx context.Context, key trigger.Key) (trigger.Reading, error) {
	return s.Measure(ctx, key)
}

// Measure is Refresh.
func (s *Store) Measure(ctx context.Context, key trigger.Key) (trigger.Reading, error) {
	e, err := s.entry(key)
	if err != nil {
		return trigger.Reading{}, err
	}
	e.mu.Lock()
	if e.retired {
		e.mu.Unlock()
		return trigger.Reading{}, unknown(key)
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
		return c.reading, nil
	case <-ctx.Done():
		return trigger.Reading{}, ctx.Err()
	}
}

// measure runs one Source.Measure for everyone waiting on c. It is detached from the
// first caller's cancellation (others may wait) but bounded by MeasureTimeout.
func (s *Store) measure(ctx context.Context, e *entry, c *call) {
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.MeasureTimeout)
	start := s.opts.Clock.Now()
	v, err := measureSafely(mctx, e.src)
	cancel()
	now := s.opts.Clock.Now()

	e.mu.Lock()
	if err != nil {
		e.sample.Err = err
	} else {
		e.sample = trigger.Sample{Value: v, Time: now}
	}
	e.flight = nil
	retired := e.retired
	c.reading = trigger.Reading{Metric: e.meta, Sample: e.sample}
	e.mu.Unlock()

	// Record the series before releasing the waiters: whoever saw this measurement
	// also sees it counted.
	e.ser.observe(v, err, now.Sub(start))
	close(c.done)
	if err != nil {
		s.opts.Log.V(1).Info("measurement failed", "scaledObject", e.owner, "metric", c.reading.Key.Name, "err", err.Error())
	}
	if retired {
		closeSource(e.src)
	}
}

// measureSafely turns a panicking Source into a failed measurement.
func measureSafely(ctx context.Context, src trigger.Source) (v float64, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("trigger source panicked: %v", r)
		}
	}()
	return src.Measure(ctx)
}

// MeasureOwner measures every metric of owner concurrently and returns their
// readings in registration order. Each failed measurement counts as one more
// consecutive failure.
func (s *Store) MeasureOwner(ctx context.Context, owner Owner) ([]trigger.Reading, error) {
	s.mu.RLock()
	keys := slices.Clone(s.owners[owner])
	s.mu.RUnlock()
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: %w", owner, trigger.ErrUnknownMetric)
	}
	readings := make([]trigger.Reading, len(keys))
	errs := make([]error, len(keys))
	if len(keys) == 1 {
		readings[0], errs[0] = s.Measure(ctx, keys[0])
	} else {
		var wg sync.WaitGroup
		for i, k := range keys {
			wg.Go(func() { readings[i], errs[i] = s.Measure(ctx, k) })
		}
		wg.Wait()
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, k := range keys {
		if readings[i].Err == nil {
			continue
		}
		e, err := s.entry(k)
		if err != nil {
			return nil, err
		}
		e.mu.Lock()
		e.sample.ConsecutiveFailures++
		readings[i].ConsecutiveFailures = e.sample.ConsecutiveFailures
		e.mu.Unlock()
	}
	return readings, nil
}

// SetFallbackReplicas sets the replica count the metrics API serves (as Replicas ×
// Target) for owner's metrics while fallback applies; activation computes it with
// [trigger.Fallback.Hold].
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
		}
		e.mu.Unlock()
	}
}
