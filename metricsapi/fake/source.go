// Package fake provides a fake [metricsapi.MetricSource] for tests and benchmarks: a
// concurrency-safe map of readings that records calls and takes the next error to
// return.
package fake

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/metricsapi"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Source is a fake metricsapi.MetricSource. Refresh simulates a successful
// re-measurement: a sample without Err gets Time = the clock's now (its value is what
// Set put), is stored and returned; a failed sample is returned as is. Source copies
// samples on the way in and out, so callers never share its maps. Safe for concurrent
// use.
type Source struct {
	clock clock.PassiveClock

	mu         sync.Mutex
	samples    map[trigger.Key]trigger.Reading
	latestErr  []error
	refreshErr []error
	latest     int
	refresh    int
	keyCalls   int
}

var _ metricsapi.MetricSource = (*Source)(nil)

// NewSource returns an empty Source whose Refresh stamps samples with c's time.
func NewSource(c clock.PassiveClock) *Source {
	if c == nil {
		c = clock.RealClock{}
	}
	return &Source{clock: c, samples: map[trigger.Key]trigger.Reading{}}
}

// Set stores s for key, replacing what was there.
func (f *Source) Set(key trigger.Key, s trigger.Reading) {
	s = copySample(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples[key] = s
}

// Update changes key's sample in place with fn (which receives a copy) and reports
// whether key existed.
func (f *Source) Update(key trigger.Key, fn func(*trigger.Reading)) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.samples[key]
	if !ok {
		return false
	}
	s = copySample(s)
	fn(&s)
	f.samples[key] = s
	return true
}

// Delete removes key.
func (f *Source) Delete(key trigger.Key) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.samples, key)
}

// FailNextLatest makes the next Latest call return err, whatever the key. Errors
// queue up, first in first out.
func (f *Source) FailNextLatest(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latestErr = append(f.latestErr, err)
}

// FailNextRefresh makes the next Refresh call return err, whatever the key. Errors
// queue up, first in first out.
func (f *Source) FailNextRefresh(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshErr = append(f.refreshErr, err)
}

// Calls returns how many times Latest, Refresh and Keys were called.
func (f *Source) Calls() (latest, refresh, keys int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.latest, f.refresh, f.keyCalls
}

func popErr(q *[]error) error {
	if len(*q) == 0 {
		return nil
	}
	err := (*q)[0]
	*q = (*q)[1:]
	return err
}

// Latest returns key's reading, or an error wrapping trigger.ErrUnknownMetric.
func (f *Source) Latest(ctx context.Context, key trigger.Key) (trigger.Reading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest++
	s, err := f.lookup(ctx, key, &f.latestErr)
	return copySample(s), err
}

// Refresh re-measures key (see Source) and returns the reading.
func (f *Source) Refresh(ctx context.Context, key trigger.Key) (trigger.Reading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh++
	s, err := f.lookup(ctx, key, &f.refreshErr)
	if err == nil && s.Err == nil {
		s.Time = f.clock.Now()
		f.samples[key] = s
	}
	return copySample(s), err
}

// lookup returns key's reading, the next queued error of q, or ctx's error. f.mu is
// held.
func (f *Source) lookup(ctx context.Context, key trigger.Key, q *[]error) (trigger.Reading, error) {
	if err := popErr(q); err != nil {
		return trigger.Reading{}, err
	}
	if err := ctx.Err(); err != nil {
		return trigger.Reading{}, err
	}
	s, ok := f.samples[key]
	if !ok {
		return trigger.Reading{}, fmt.Errorf("%s/%s: %w", key.Namespace, key.Name, trigger.ErrUnknownMetric)
	}
	return s, nil
}

// Keys returns every key, sorted by namespace and name.
func (f *Source) Keys() []trigger.Key {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyCalls++
	out := make([]trigger.Key, 0, len(f.samples))
	for k := range f.samples {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func copySample(s trigger.Reading) trigger.Reading {
	if s.Labels != nil {
		l := make(map[string]string, len(s.Labels))
		for k, v := range s.Labels {
			l[k] = v
		}
		s.Labels = l
	}
	if s.Fallback != nil {
		fb := *s.Fallback
		s.Fallback = &fb
	}
	return s
}
