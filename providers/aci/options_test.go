package aci

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/surge-autoscaler/surge/providers"
)

func validOptions() Options {
	o := DefaultOptions()
	o.SubscriptionID, o.ResourceGroup, o.Region = "sub", "rg", "westeurope"
	return o
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		name string
		mut  func(*Options)
		want []string // substrings of the error; none = valid
	}{
		{name: "defaults plus the Azure settings", mut: func(*Options) {}},
		{name: "missing Azure settings", mut: func(o *Options) { o.SubscriptionID, o.ResourceGroup, o.Region = "", "", "" },
			want: []string{"--aci-subscription-id", "--aci-resource-group", "--aci-region"}},
		{name: "os type", mut: func(o *Options) { o.OSType = "plan9" }, want: []string{`--aci-os-type "plan9"`}},
		{name: "windows any case", mut: func(o *Options) { o.OSType = "windows" }},
		{name: "gpu sku", mut: func(o *Options) { o.GPUSKU = "H100" }, want: []string{`--aci-gpu-sku "H100"`}},
		{name: "gpu sku any case", mut: func(o *Options) { o.GPUSKU = "v100" }},
		{name: "subnet must be an ID", mut: func(o *Options) { o.SubnetID = "aci-subnet" }, want: []string{"--aci-subnet-id"}},
		{name: "dns label", mut: func(o *Options) { o.DNSNameLabel = "Bad_Label" }, want: []string{"--aci-dns-name-label"}},
		{name: "quantities", mut: func(o *Options) { o.CapacityCPU, o.DefaultMemory = "lots", "-1Gi" },
			want: []string{`--aci-capacity-cpu "lots"`, `--aci-default-memory "-1Gi" must be positive`}},
		{name: "durations", mut: func(o *Options) { o.PollInterval, o.BackoffMax = 0, time.Millisecond }, want: []string{"--aci-poll-interval"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := validOptions()
			tc.mut(&o)
			err := o.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate accepted %+v", o)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOptionsFlagsAndEnv(t *testing.T) {
	t.Setenv("AZURE_SUBSCRIPTION_ID", "from-env")
	t.Setenv("ACI_REGION", "northeurope")
	o := DefaultOptions()
	fs := pflag.NewFlagSet("vnode", pflag.ContinueOnError)
	o.AddFlags(fs)
	err := fs.Parse([]string{"--aci-resource-group=burst", "--aci-capacity-cpu=200", "--aci-capacity-memory=800Gi",
		"--aci-capacity-pods=300", "--aci-public-ip", "--aci-os-type=Windows"})
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	s, err := o.parse()
	if err != nil {
		t.Fatalf("parse options: %v", err)
	}
	if s.subscription != "from-env" || s.loc != "northeurope" || s.group != "burst" || !o.PublicIP || s.osType != "Windows" {
		t.Fatalf("settings = %+v, options = %+v", s, o)
	}
	want := providers.Resources{MilliCPU: 200_000, MemoryBytes: 800 << 30, Pods: 300}
	if s.capacity != want {
		t.Fatalf("capacity = %+v, want %+v", s.capacity, want)
	}
}
