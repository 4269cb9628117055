package harness

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// WaitLimit is how long the waits of this package wait before they give up: a
// guard against a hang, not a bound on how fast anything must happen. It is
// generous so that a loaded machine never reaches it; a test that wants to say
// how long something took measures it (Eventually returns the time) and logs it.
const WaitLimit = 3 * time.Minute

// waitEvery is how often the waits check their condition unless told otherwise.
const waitEvery = 50 * time.Millisecond

// Eventually checks cond every 50 ms until it returns "" and returns how long that
// took. cond returns what is still missing ("has 2 replicas"); if WaitLimit passes
// first, the test fails naming what it waited for and cond's last answer. Call it
// from the test's goroutine.
func Eventually(t testing.TB, what string, cond func() string) time.Duration {
	t.Helper()
	return EventuallyEvery(t, waitEvery, what, cond)
}

// EventuallyEvery is Eventually checking every interval, for conditions that are
// costly to check (a broker's management API).
func EventuallyEvery(t testing.TB, interval time.Duration, what string, cond func() string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		last := cond()
		if last == "" {
			return time.Since(start)
		}
		if time.Since(start) > WaitLimit {
			t.Fatalf("waited %s for %s; still %s", WaitLimit, what, last)
		}
		time.Sleep(interval)
	}
}

// EventuallyTrue is Eventually for a condition that is true or not.
func EventuallyTrue(t testing.TB, what string, cond func() bool) time.Duration {
	t.Helper()
	return Eventually(t, what, func() string {
		if cond() {
			return ""
		}
		return "false"
	})
}

// Until is Eventually for set-up code that returns errors instead of failing a
// test: it checks cond every 50 ms until it returns "" and returns nil, or returns
// an error naming what it waited for and cond's last answer when ctx ends or
// WaitLimit passes.
func Until(ctx context.Context, what string, cond func(ctx context.Context) string) error {
	ctx, cancel := context.WithTimeout(ctx, WaitLimit)
	defer cancel()
	tick := time.NewTicker(waitEvery)
	defer tick.Stop()
	for {
		last := cond(ctx)
		if last == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w; still %s", what, ctx.Err(), last)
		case <-tick.C:
		}
	}
}
