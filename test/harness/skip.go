package harness

import (
	"os"
	"strconv"
	"testing"
)

// Integration marks a test as an integration or end-to-end test: it is skipped under
// `go test -short` (the unit-test pass, also under CI) and runs otherwise. A test that
// needs a component which is missing must fail with a message that says how to get
// it (or call Missing), never skip.
func Integration(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: skipped under -short")
	}
}

// Missing ends a test that cannot run on this machine because something it needs
// is absent (a privilege, a kernel feature): on a developer's machine it skips the
// test; under CI=true, where everything must be present, it fails it. Both say what
// is missing and how to get it.
func Missing(t testing.TB, what, how string) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s (CI=true: nothing may be skipped; %s)", what, how)
		return
	}
	t.Skipf("%s (%s)", what, how)
}

// InCI reports whether the tests run under CI (CI=true): there a missing component
// or privilege is a failure, never a skip.
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
