package harness

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// Needs is what a test package's integration tests need running. Main starts each
// once for the package, before the tests, and stops it after them.
type Needs struct {
	// ControlPlane starts one control plane (StartCluster with Cluster).
	ControlPlane bool
	// Cluster configures the control plane: HPA sync period, Dir, ...
	Cluster ClusterOptions
	// Components start after the control plane, in order: brokers
	// (brokers.NeedRabbitMQ, brokers.NeedKafka, brokers.NeedPrometheus) or anything
	// else the package needs for all its tests.
	Components []Component
	// OnlyForBenchmarks starts nothing (and runs no set-up) unless benchmarks were
	// asked for with -bench: for benchmark packages whose tests need nothing.
	OnlyForBenchmarks bool
	// SetupUnderShort runs the set-up function under -short too, for set-up the
	// unit tests need that starts nothing external (building a fixture binary).
	// The control plane and Components still start only without -short.
	SetupUnderShort bool
}

// Component is one thing a package needs running, such as a broker.
type Component struct {
	// Name names it in messages ("RabbitMQ").
	Name string
	// Start starts it and returns the function that stops it.
	Start func(ctx context.Context) (stop func() error, err error)
}

// Env is what Main started for the package, handed to its set-up function.
type Env struct {
	// Cluster is the package's control plane; nil unless Needs.ControlPlane.
	Cluster *Cluster
}

// Setup prepares what the package's tests share once the Needs are running
// (install CRDs, start a server in-process, ...). ctx lives until the tests are
// over (it is cancelled after every AtExit function has run), so what setup starts
// may run under it. Anything it starts that must be stopped is registered with
// AtExit. An error ends the run before any test.
type Setup func(ctx context.Context, env *Env) error

// Main is the TestMain of every integration test package:
//
//	func TestMain(m *testing.M) { harness.Main(m, harness.Needs{ControlPlane: true}, setup) }
//
// It parses the flags and, unless -short is given (the unit-test pass: integration
// tests skip themselves through Integration), starts the Needs once, runs setup
// (may be nil), runs the tests, then stops everything it or setup started (also
// after a failed set-up), and checks that no goroutine outlived the tests. It exits
// the process with the result.
func Main(m *testing.M, needs Needs, setup Setup) {
	os.Exit(run(m, needs, setup))
}

func run(m *testing.M, needs Needs, setup Setup) int {
	flag.Parse()
	before := goleak.IgnoreCurrent()
	code := startAndRun(m, needs, setup)
	if code != 0 {
		return code
	}
	if err := findLeaks(before); err != nil {
		fmt.Fprintf(os.Stderr, "harness: %s: goroutines outlived the tests (a test or what it started did not stop them):\n%v\n", packageName(), err)
		return 1
	}
	return 0
}

// startAndRun starts what needs asks for, runs setup and the tests, and stops
// everything. It returns the exit code.
func startAndRun(m *testing.M, needs Needs, setup Setup) (code int) {
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{}
	defer func() {
		if err := runAtExit(); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %s: %v\n", packageName(), err)
			if code == 0 {
				code = 1
			}
		}
		cancel()
	}()
	integration := !testing.Short() && (!needs.OnlyForBenchmarks || benchmarksRequested())
	if integration {
		if err := startNeeds(ctx, env, needs); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %s: %v\n", packageName(), err)
			return 1
		}
	}
	if setup != nil && (integration || needs.SetupUnderShort) {
		if err := setup(ctx, env); err != nil {
			fmt.Fprintf(os.Stderr, "harness: %s: set-up: %v\n", packageName(), err)
			return 1
		}
	}
	return m.Run()
}

// startNeeds starts the control plane and the components, registering each one's
// stop with AtExit as soon as it runs.
func startNeeds(ctx context.Context, env *Env, needs Needs) error {
	if needs.ControlPlane {
		c, err := StartCluster(ctx, needs.Cluster)
		if err != nil {
			return err
		}
		AtExit("control plane", c.Stop)
		env.Cluster = c
	}
	for _, comp := range needs.Components {
		stop, err := comp.Start(ctx)
		if err != nil {
			return fmt.Errorf("start %s: %w", comp.Name, err)
		}
		AtExit(comp.Name, stop)
	}
	return nil
}

// benchmarksRequested reports whether -test.bench was given.
func benchmarksRequested() bool {
	f := flag.Lookup("test.bench")
	return f != nil && f.Value.String() != ""
}

// packageName names the test binary's package in messages ("smoke" for smoke.test).
func packageName() string {
	return strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
}

var (
	exitMu  sync.Mutex
	exitFns []exitFn
)

type exitFn struct {
	name string
	stop func() error
}

// AtExit registers stop to run when Main has run the tests, before the goroutine
// leak check; the functions run in reverse order of registration, like t.Cleanup
// for the package. It is for what outlives one test or one call of a benchmark
// function (a process a benchmark starts once and reuses). A failed stop fails the
// package.
func AtExit(name string, stop func() error) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitFns = append(exitFns, exitFn{name, stop})
}

// runAtExit runs the AtExit functions, last registered first, and returns their
// errors.
func runAtExit() error {
	exitMu.Lock()
	fns := exitFns
	exitFns = nil
	exitMu.Unlock()
	var errs []string
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i].stop(); err != nil {
			errs = append(errs, fmt.Sprintf("stop %s: %v", fns[i].name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
