// Package scaler benchmarks surge-scaler against the embedded control plane
// (test/harness): 1,000 and 5,000 ScaledObjects on fake triggers at pollingInterval
// 1 s (CPU, RSS, reconcile time of a spec change, poll-loop jitter), and 100
// simultaneous bursts (time until every target left zero, and the kube-apiserver CPU
// attributable to surge-scaler at steady state).
//
//	go test -run '^$' -bench . -benchtime 20x -timeout 60m ./bench/scaler/
//
// Nothing here runs without -bench: TestMain starts the control plane only then.
package scaler

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	"github.com/surge-autoscaler/surge/scaler/api/v1alpha1"
	"github.com/surge-autoscaler/surge/test/harness"
)

var benv struct {
	cluster *harness.Cluster
	cfg     *rest.Config
	c       client.Client
	bin     string
	root    string
}

var scheme = k8sruntime.NewScheme()

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() || flag.Lookup("test.bench").Value.String() == "" {
		os.Exit(m.Run())
	}
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	ctx := context.Background()
	_, file, _, _ := runtime.Caller(0)
	benv.root = filepath.Join(filepath.Dir(file), "..", "..")
	for _, add := range []func(*k8sruntime.Scheme) error{clientgoscheme.AddToScheme, v1alpha1.AddToScheme, apiextensionsv1.AddToScheme} {
		if err := add(scheme); err != nil {
			panic(err)
		}
	}
	ctrllog.SetLogger(logr.Discard())
	cl, err := harness.StartCluster(ctx, harness.ClusterOptions{Dir: os.Getenv("SURGE_BENCH_DIR")})
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/scaler: cannot start the control plane (build it with `make controlplane`): %v\n", err)
		return 1
	}
	defer cl.Stop()
	benv.cluster = cl
	benv.cfg = rest.CopyConfig(cl.Config)
	benv.cfg.QPS, benv.cfg.Burst = 1000, 2000
	if benv.c, err = client.New(benv.cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := installCRDs(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "bench/scaler: install CRDs: %v\n", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "surge-scaler-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	benv.bin = filepath.Join(dir, "surge-scaler")
	cmd := exec.Command("go", "build", "-o", benv.bin, "./cmd/surge-scaler")
	cmd.Dir = benv.root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "bench/scaler: go build ./cmd/surge-scaler: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	exitMu.Lock()
	for i := len(exitFns) - 1; i >= 0; i-- {
		exitFns[i]()
	}
	exitMu.Unlock()
	return code
}

var (
	exitMu  sync.Mutex
	exitFns []func()
)

// atExit runs f after every benchmark (processes and environments outlive one call
// of a benchmark function: the testing package calls each more than once).
func atExit(f func()) {
	exitMu.Lock()
	exitFns = append(exitFns, f)
	exitMu.Unlock()
}

func installCRDs(ctx context.Context) error {
	files, err := filepath.Glob(filepath.Join(benv.root, "charts", "surge-scaler", "crds", "*.yaml"))
	if err != nil || len(files) == 0 {
		return fmt.Errorf("no CRDs under charts/surge-scaler/crds: %v", err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(b, crd); err != nil {
			return err
		}
		if err := benv.c.Create(ctx, crd); err != nil {
			return err
		}
	}
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var list v1alpha1.ScaledObjectList
		return benv.c.List(ctx, &list) == nil, nil
	})
}
