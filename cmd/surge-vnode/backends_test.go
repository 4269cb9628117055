package main

import (
	"context"
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/spf13/pflag"

	"github.com/surge-autoscaler/surge/providers/local"
)

func TestNewBackendFromFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // error substring; empty: success
	}{
		{"local with images", []string{"--backend=local", "--image=a=/bin/sh", "--image=b:1=/bin/true", "--capacity-pods=7"}, ""},
		{"image without path", []string{"--backend=local", "--image=a"}, "want image=/path"},
		{"relative path", []string{"--backend=local", "--image=a=sh"}, "not absolute"},
		{"bad capacity", []string{"--backend=local", "--capacity-cpu=lots"}, "--capacity-cpu"},
		{"bad cgroups mode", []string{"--backend=local", "--cgroups=v3"}, "cgroup"},
		{"fake", []string{"--backend=fake", "--fake-create-error-rate=0.5"}, ""},
		{"unknown", []string{"--backend=k8s"}, `--backend="k8s"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var o options
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			o.addFlags(fs)
			if err := fs.Parse(append(tc.args, "--state-dir="+t.TempDir())); err != nil {
				t.Fatal(err)
			}
			b, closeFn, err := newBackend(context.Background(), o, logr.Discard())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err %v, want %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer closeFn()
			c, err := b.Capacity(context.Background())
			if err != nil || c.Pods <= 0 {
				t.Fatalf("capacity %+v, %v", c, err)
			}
			if lb, ok := b.(*local.Backend); ok && c.Pods != 7 {
				t.Fatalf("local capacity pods %d, want 7 (%v)", c.Pods, lb.Dir())
			}
		})
	}
}
