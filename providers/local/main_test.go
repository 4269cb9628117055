package local_test

import (
	"context"
	"testing"

	"github.com/surge-autoscaler/surge/test/harness"
)

// worker is the fixture program's path, built once by TestMain.
var worker string

// TestMain builds the worker fixture (the unit tests run it too) and fails the
// package if a goroutine outlives the tests.
func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{SetupUnderShort: true}, func(context.Context, *harness.Env) (err error) {
		worker, err = harness.BuildFixture("worker")
		return err
	})
}
