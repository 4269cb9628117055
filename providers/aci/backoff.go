package aci

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/providers"
)

// backoff is our back-off on top of the SDK's retry policy. ARM throttles per
// subscription, so once the SDK has exhausted its retries on a 429 or 5xx every
// call of this backend fails fast with a Transient error until the back-off
// expires, instead of adding to the load. Consecutive failures double the delay
// from base up to max; a longer Retry-After from the server wins; any success
// resets it.
type backoff struct {
	clock     clock.PassiveClock
	base, max time.Duration

	mu       sync.Mutex
	failures int
	until    time.Time
	last     error
}

func newBackoff(c clock.PassiveClock, base, max time.Duration) *backoff {
	return &backoff{clock: c, base: base, max: max}
}

// check returns a Transient error while backing off, else nil.
func (b *backoff) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if !now.Before(b.until) {
		return nil
	}
	return providers.NewError(providers.KindTransient, &BackoffError{
		Remaining: b.until.Sub(now), Failures: b.failures, Last: b.last,
	})
}

// failure records a back-off-worthy error and returns the delay chosen.
func (b *backoff) failure(err error) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	d := b.max
	if shift := b.failures - 1; shift < 30 && b.base<<shift < b.max {
		d = b.base << shift
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > d {
		d = ae.RetryAfter
	}
	b.until = b.clock.Now().Add(d)
	b.last = err
	return d
}

// success resets the back-off.
func (b *backoff) success() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures, b.until, b.last = 0, time.Time{}, nil
}

// wait returns how long callers should wait before the next call (0 if none).
func (b *backoff) wait() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	if d := b.until.Sub(b.clock.Now()); d > 0 {
		return d
	}
	return 0
}

// BackoffError is returned (as a Transient providers error) while the backend is
// backing off after throttling or server errors.
type BackoffError struct {
	Remaining time.Duration
	Failures  int
	Last      error
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("aci: backing off for %s after %d throttled or failed calls (last: %v)",
		e.Remaining.Round(time.Millisecond), e.Failures, e.Last)
}

// Unwrap returns the error that started the back-off.
func (e *BackoffError) Unwrap() error { return e.Last }
