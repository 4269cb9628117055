// Package fake provides a fake metricsapi.MetricSource for tests and benchmarks: a
// concurrency-safe map of samples that records calls and takes the next error to
// return.
package fake

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/metricsapi"
)

// Source is a fake metricsapi.MetricSource. Refresh simulates a successful
// re-measurement: a sample without Err gets Time = the clock's now (its value is what
// Set put), is stored and returned; a failed sample is returned as is. Source copies
// samples on the way in and out, so callers never share its maps. Safe for concurrent
// use.
type Source struct {
	clock clock.PassiveClock

	mu         sync.Mutex
	samples    map[metricsapi.MetricKey]metricsapi.Sample
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
	return &Source{clock: c, samples: map[metricsapi.MetricKey]metricsapi.Sample{}}
}

// Set stores s for key, replacing what was there.
func (f *Source) Set(key metricsapi.MetricKey, s metricsapi.Sample) {
	s = copySample(s)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.samples[key] = s
}

// Update changes key's sample in place with fn (which receives a copy) and reports
// whether key existed.
func (f *Source) Update(key metricsapi.MetricKey, fn func(*metricsapi.Sample)) bool {
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
func (f *Source) Delete(key metricsapi.MetricKey) {
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

// Latest returns key's sample, or an error wrapping metricsapi.ErrUnknownMetric.
func (f *Source) Latest(ctx context.Context, key metricsapi.MetricKey) (metricsapi.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latest++
	if err := popErr(&f.latestErr); err != nil {
		return metricsapi.Sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return metricsapi.Sample{}, err
	}
	s, ok := f.samples[key]
	if !ok {
		return metricsapi.Sample{}, fmt.Errorf("%s/%s: %w", key.Namespace, key.Name, metricsapi.ErrUnknownMetric)
	}
	return copySample(s), nil
}

// Refresh re-measures key (see Source) and returns the sample.
func (f *Source) Refresh(ctx context.Context, key metricsapi.MetricKey) (metricsapi.Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refresh++
	if err := popErr(&f.refreshErr); err != nil {
		return metricsapi.Sample{}, err
	}
	if err := ctx.Err(); err != nil {
		return metricsapi.Sample{}, err
	}
	s, ok := f.samples[key]
	if !ok {
		return metricsapi.Sample{}, fmt.Errorf("%s/%s: %w", key.Namespace, key.Name, metricsapi.ErrUnknownMetric)
	}
	if s.Err == nil {
		s.Time = f.clock.Now()
		f.samples[key] = s
	}
	return copySample(s), nil
}

// Keys returns every key, sorted by namespace and name.
func (f *Source) Keys() []metricsapi.MetricKey {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keyCalls++
	out := make([]metricsapi.MetricKey, 0, len(f.samples))
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

func copySample(s metricsapi.Sample) metricsapi.Sample {
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
