package aci_test

import (
	"fmt"

	"github.com/go-logr/logr"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/providers/aci/acifake"
)

// BenchmarkList measures one List of 1,000 groups (50 pages of 20) with up to 10
// detail GETs, through the SDK pipeline and the fake server: our overhead plus the
// SDK's, not Azure's latency.
func BenchmarkList(b *testing.B) {
	srv := acifake.New(acifake.Config{CreateSteps: -1, ProvisionDelay: time.Millisecond})
	o := testOptions(srv)
	o.DetailGetsPerList = 10
	be, err := aci.New(ctx, o, discard)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	for i := range 1000 {
		if err := be.Create(ctx, spec(fmt.Sprintf("p%04d", i), acifake.ImageRunForever)); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(5 * time.Millisecond)
	b.ResetTimer()
	for b.Loop() {
		list, err := be.List(ctx)
		if err != nil || len(list) != 1000 {
			b.Fatalf("List = %d, %v", len(list), err)
		}
	}
}

// BenchmarkCreate measures one Create (GET, PUT, background poll start) through
// the SDK pipeline and the fake server.
func BenchmarkCreate(b *testing.B) {
	srv := acifake.New(acifake.Config{CreateSteps: -1})
	be, err := aci.New(ctx, testOptions(srv), discard)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	i := 0
	for b.Loop() {
		i++
		if err := be.Create(ctx, spec(fmt.Sprintf("c%07d", i), acifake.ImageRunForever)); err != nil {
			b.Fatal(err)
		}
	}
}

var discard = logr.Discard()
