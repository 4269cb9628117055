package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/surge-autoscaler/surge/providers"
	"github.com/surge-autoscaler/surge/providers/aci"
	"github.com/surge-autoscaler/surge/providers/fake"
	"github.com/surge-autoscaler/surge/providers/local"
)

// localOptions are the --backend=local flags.
type localOptions struct {
	stateDir, imageMap, cgroups, cgroupParent string
	images                                    []string
	capacityCPU, capacityMemory               string
	capacityPods                              int64
	startDelay, backoffInitial, backoffMax    time.Duration
}

func (o *localOptions) addFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.stateDir, "state-dir", "/var/lib/surge-vnode", "local: state, logs and re-adoption records of the instances")
	fs.StringVar(&o.imageMap, "image-map", "", "local: YAML file mapping image references to executables")
	fs.StringArrayVar(&o.images, "image", nil, "local: one image map entry, image=/path/to/executable (repeatable; adds to --image-map)")
	fs.StringVar(&o.cgroups, "cgroups", "auto", "local: limit enforcement: auto, v1, v2 or off")
	fs.StringVar(&o.cgroupParent, "cgroup-parent", "surge-local", "local: parent cgroup of the instances")
	fs.StringVar(&o.capacityCPU, "capacity-cpu", "", "local: CPU capacity to report (default: this machine's CPUs)")
	fs.StringVar(&o.capacityMemory, "capacity-memory", "", "local: memory capacity to report (default: this machine's memory)")
	fs.Int64Var(&o.capacityPods, "capacity-pods", 110, "local: pod capacity to report")
	fs.DurationVar(&o.startDelay, "simulated-start-delay", 0, "local: SIMULATION of a cloud cold start: keep new instances Pending this long (off by default)")
	fs.DurationVar(&o.backoffInitial, "restart-backoff", 10*time.Second, "local: first restart back-off (doubles per restart)")
	fs.DurationVar(&o.backoffMax, "restart-backoff-max", 300*time.Second, "local: longest restart back-off")
}

// fakeOptions are the --backend=fake flags.
type fakeOptions struct {
	startDelay      time.Duration
	createErrorRate float64
	afterEffect     bool
	seed            uint64
}

func (o *fakeOptions) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&o.startDelay, "fake-start-delay", 0, "fake: how long instances stay Pending")
	fs.Float64Var(&o.createErrorRate, "fake-create-error-rate", 0, "fake: fraction of Create calls that fail with a Transient error")
	fs.BoolVar(&o.afterEffect, "fake-create-error-after-effect", false, "fake: failed Creates still create the instance (a cloud call that times out after doing the work)")
	fs.Uint64Var(&o.seed, "fake-seed", 1, "fake: seed of the injected errors")
}

// newBackend builds the backend --backend names and a function that closes it.
func newBackend(ctx context.Context, o options, log logr.Logger) (providers.Backend, func() error, error) {
	switch o.backend {
	case "local":
		b, err := newLocal(o.local, log.WithName("local"))
		if err != nil {
			return nil, nil, err
		}
		return b, b.Close, nil
	case "fake":
		b := fake.New(fake.Options{Default: fake.Behavior{StartAfter: o.fake.startDelay}, Seed: o.fake.seed})
		if o.fake.createErrorRate > 0 {
			b.SetErrorRate(fake.OpCreate, fake.Rate{Fraction: o.fake.createErrorRate, AfterEffect: o.fake.afterEffect})
		}
		log.Info("the fake backend runs nothing: instances exist in memory only and vanish when surge-vnode stops")
		return b, func() error { return nil }, nil
	case "aci":
		b, err := aci.New(ctx, o.aci, log.WithName("aci"))
		if err != nil {
			return nil, nil, err
		}
		return b, b.Close, nil
	}
	return nil, nil, fmt.Errorf("--backend=%q: want local, aci or fake", o.backend)
}

func newLocal(o localOptions, log logr.Logger) (*local.Backend, error) {
	im, err := local.NewImageMap(nil)
	if err != nil {
		return nil, err
	}
	if o.imageMap != "" {
		if im, err = local.LoadImageMap(o.imageMap); err != nil {
			return nil, err
		}
	}
	for _, e := range o.images {
		img, path, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("--image=%q: want image=/path/to/executable", e)
		}
		if err := im.Add(img, path); err != nil {
			return nil, err
		}
	}
	var capacity providers.Resources
	if o.capacityCPU != "" {
		q, err := resource.ParseQuantity(o.capacityCPU)
		if err != nil {
			return nil, fmt.Errorf("--capacity-cpu: %w", err)
		}
		capacity.MilliCPU = q.MilliValue()
	}
	if o.capacityMemory != "" {
		q, err := resource.ParseQuantity(o.capacityMemory)
		if err != nil {
			return nil, fmt.Errorf("--capacity-memory: %w", err)
		}
		capacity.MemoryBytes = q.Value()
	}
	capacity.Pods = o.capacityPods
	if len(im.Images()) == 0 {
		log.Info("the image map is empty: every pod will be refused; give --image-map or --image")
	}
	return local.New(local.Options{
		Dir: o.stateDir, Images: im, Cgroups: local.CgroupMode(o.cgroups), CgroupParent: o.cgroupParent,
		Capacity: capacity, BackoffInitial: o.backoffInitial, BackoffMax: o.backoffMax,
		SimulatedStartDelay: o.startDelay, Log: log,
	})
}
