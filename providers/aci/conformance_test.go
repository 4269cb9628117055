package aci_test

import (
	"sync"
	"testing"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/aci/acifake"
	"github.com/surge-autoscaler/surge/providers/conformance"
)

// TestConformance runs the shared backend suite against the ACI backend on the
// Azure SDK's fake server (package acifake), not against Azure.
func TestConformance(t *testing.T) {
	var servers sync.Map // *aci.Backend -> *acifake.Server
	conformance.Run(t, conformance.Harness{
		Name: "aci",
		New: func(t *testing.T) providers.Backend {
			srv := acifake.New(acifake.Config{StartLine: conformance.LogMarker})
			b := newBackend(t, srv)
			servers.Store(b, srv)
			return b
		},
		Container: func(w conformance.Workload) (providers.ContainerSpec, bool) {
			c := providers.ContainerSpec{Command: []string{"/worker"}}
			switch w {
			case conformance.RunForever:
				c.Image = acifake.ImageRunForever
			case conformance.ExitZero:
				c.Image = acifake.ImageExit(0)
			case conformance.ExitNonZero:
				c.Image = acifake.ImageExit(3)
			case conformance.Unrunnable:
				c.Image = acifake.ImageUnpullable
			default:
				return c, false
			}
			return c, true
		},
		AfterEach: func(t *testing.T, b providers.Backend) {
			srv, _ := servers.Load(b)
			if left := srv.(*acifake.Server).GroupNames(testGroup); len(left) > 0 {
				t.Errorf("container groups left behind: %v", left)
			}
		},
	})
}
