package aci

import (
	"net/http"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/surge-autoscaler/surge/providers"
)

func TestBackoff(t *testing.T) {
	clk := clocktesting.NewFakePassiveClock(t0)
	b := newBackoff(clk, time.Second, 8*time.Second)
	if err := b.check(); err != nil {
		t.Fatalf("fresh back-off: %v", err)
	}
	server := classify("list", "rg", armResponseError(503, "ServiceUnavailable", "", nil))
	steps := []struct {
		name string
		err  error
		want time.Duration
	}{
		{"first failure", server, time.Second},
		{"doubles", server, 2 * time.Second},
		{"doubles again", server, 4 * time.Second},
		{"a longer Retry-After wins", classify("list", "rg", armResponseError(429, "TooManyRequests", "", http.Header{"Retry-After": {"30"}})), 30 * time.Second},
		{"capped", server, 8 * time.Second},
		{"stays capped", server, 8 * time.Second},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if got := b.failure(s.err); got != s.want {
				t.Fatalf("delay %v, want %v", got, s.want)
			}
			err := b.check()
			if !providers.IsTransient(err) {
				t.Fatalf("check while backing off = %v, want Transient", err)
			}
			if ra, ok := RetryAfter(err); !ok || ra != s.want {
				t.Fatalf("RetryAfter = %v, want %v", ra, s.want)
			}
			clk.SetTime(clk.Now().Add(s.want - time.Millisecond))
			if b.check() == nil || b.wait() != time.Millisecond {
				t.Fatalf("back-off ended early (wait %v)", b.wait())
			}
			clk.SetTime(clk.Now().Add(time.Millisecond))
			if err := b.check(); err != nil || b.wait() != 0 {
				t.Fatalf("back-off still on after its delay: %v", err)
			}
		})
	}
	b.success()
	if got := b.failure(server); got != time.Second {
		t.Fatalf("after success the delay is %v, want the base again", got)
	}
}
