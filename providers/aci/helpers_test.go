package aci_test

import (
	"context"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"

	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/providers/aci/acifake"
	"github.com/surge-autoscaler/surge/test/harness"
)

const (
	testSubscription = "00000000-0000-0000-0000-000000000001"
	testGroup        = "surge-test"
)

// TestMain fails the package if a goroutine outlives its test's backend (Close
// must stop every background poll and log follower).
func TestMain(m *testing.M) { harness.Main(m, harness.Needs{}, nil) }

// testOptions returns options that reach srv with short delays.
func testOptions(srv *acifake.Server) aci.Options {
	o := aci.DefaultOptions()
	o.SubscriptionID, o.ResourceGroup, o.Region = testSubscription, testGroup, "westeurope"
	o.Credential = acifake.Credential()
	o.Transport = srv.Transport()
	o.RetryDelay = 5 * time.Millisecond
	o.MaxRetryDelay = 2 * time.Second
	o.PollInterval = 10 * time.Millisecond
	o.BackoffBase = 50 * time.Millisecond
	o.BackoffMax = time.Second
	o.DetailGetsPerList = 64
	o.DetailRefresh = 50 * time.Millisecond
	o.LogFollowInterval = 20 * time.Millisecond
	return o
}

// newBackend builds a backend on srv, closed at the end of the test.
func newBackend(t *testing.T, srv *acifake.Server, mutate ...func(*aci.Options)) *aci.Backend {
	t.Helper()
	o := testOptions(srv)
	for _, m := range mutate {
		m(&o)
	}
	b, err := aci.New(context.Background(), o, testr.New(t))
	if err != nil {
		t.Fatalf("aci.New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}
