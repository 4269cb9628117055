package harness

import (
	"net/http"
	"time"

	"go.uber.org/goleak"
)

// longLived lists the goroutines that libraries start once per process and never
// stop, so they are not leaks of a test: the one place such exceptions are kept.
// A goroutine of surge's own code never belongs here; fix the leak instead.
var longLived = []goleak.Option{
	// klog flushes its buffers every 5 s for the life of the process.
	goleak.IgnoreTopFunction("k8s.io/klog/v2.(*flushDaemon).run.func1"),
	// apimachinery's watch.Filter (controller-runtime wraps metadata-only informers'
	// watches in it) blocks for ever on a send when its reader stops in the middle
	// of an event: a known flaw of watch.Filter (filter.go), seen when the
	// in-process surge-scaler of test/e2e/scaler stops. Surge never calls Filter.
	goleak.IgnoreTopFunction("k8s.io/apimachinery/pkg/watch.(*filteredWatch).loop"),
}

// leakSettle is how long findLeaks lets goroutines that are winding down (a
// connection closing, a watch returning after its context ended) finish.
const leakSettle = 10 * time.Second

// findLeaks reports goroutines started after before that are still running once
// the tests and every AtExit function are done.
func findLeaks(before goleak.Option) error {
	// Idle keep-alive connections of the default client hold two goroutines each
	// until the pool drops them; a test's plain http.Get leaves them behind.
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	opts := append([]goleak.Option{before}, longLived...)
	deadline := time.Now().Add(leakSettle)
	for {
		err := goleak.Find(opts...)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(250 * time.Millisecond)
	}
}
