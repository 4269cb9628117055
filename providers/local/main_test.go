package local_test

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/surge-autoscaler/surge/test/fixtures"
)

// worker is the fixture program's path, built once by TestMain.
var worker string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "local-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	worker, err = fixtures.Build(dir, "worker")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
