package aci

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
	"github.com/spf13/pflag"
	"github.com/surge-autoscaler/surge/providers"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/clock"
)

// Options configures the ACI backend. The string fields come from flags (AddFlags)
// whose defaults are read from the environment, so the backend can be configured
// either way. Credential, Transport and Clock are for tests and embedding.
type Options struct {
	// SubscriptionID is the Azure subscription (env AZURE_SUBSCRIPTION_ID).
	SubscriptionID string
	// ResourceGroup holds the container groups (env ACI_RESOURCE_GROUP).
	ResourceGroup string
	// Region is the Azure location of new groups, e.g. "westeurope" (env ACI_REGION).
	Region string
	// OSType is "Linux" or "Windows" (env ACI_OS_TYPE; default Linux).
	OSType string
	// SubnetID, if set, injects every group into this VNet subnet (full ARM
	// resource ID) with a private IP (env ACI_SUBNET_ID).
	SubnetID string
	// PublicIP gives groups whose containers declare ports a public IP exposing
	// those ports. Off by default: pods' ports are not published to the internet
	// unless asked. Ignored when SubnetID is set.
	PublicIP bool
	// DNSNameLabel, with PublicIP, gives each group the DNS name label
	// "<DNSNameLabel>-<group name>" (cut to 63 characters) with tenant-scoped reuse.
	DNSNameLabel string
	// GPUSKU is the ACI GPU SKU (K80, P100, V100) used for containers that request
	// GPUs; without it such pods are refused.
	GPUSKU string
	// Owner is written to every group's TagOwner; List only reports groups with
	// this owner. Give each surge-vnode sharing a resource group its own owner.
	Owner string
	// DefaultCPU and DefaultMemory are the requests given to containers that set
	// neither requests nor limits (ACI requires a request). Quantities: "1", "1.5Gi".
	DefaultCPU, DefaultMemory string
	// CapacityCPU, CapacityMemory and CapacityPods are what Capacity reports.
	CapacityCPU, CapacityMemory string
	CapacityPods                int64
	// MaxRetries, RetryDelay and MaxRetryDelay configure the SDK's retry policy
	// (429, 408 and 5xx are retried, honouring Retry-After).
	MaxRetries    int32
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// BackoffBase and BackoffMax bound our own back-off once the SDK has given up:
	// calls fail fast with a Transient error until it expires.
	BackoffBase, BackoffMax time.Duration
	// PollInterval is how often a long-running create or delete is polled in the
	// background.
	PollInterval time.Duration
	// DetailGetsPerList bounds the container-group GETs List may add to its one
	// paged list call to learn container states (ARM's list omits instance
	// views). 0 disables them.
	DetailGetsPerList int
	// DetailRefresh is how old a group's detail may get before List refreshes it
	// (within the GET budget) when its provisioning state has not changed; it
	// bounds how late a container exit or restart is seen.
	DetailRefresh time.Duration
	// LogFollowInterval is how often Logs re-reads the log when following.
	LogFollowInterval time.Duration

	// Credential overrides DefaultAzureCredential (tests pass azcore/fake's).
	Credential azcore.TokenCredential
	// Transport overrides the HTTP transport (tests pass the SDK fake server's).
	Transport policy.Transporter
	// Clock drives back-off and polling; default the real clock.
	Clock clock.WithTicker
}

// DefaultOptions returns the defaults, with the Azure settings read from the
// environment.
func DefaultOptions() Options {
	return Options{
		SubscriptionID:    os.Getenv("AZURE_SUBSCRIPTION_ID"),
		ResourceGroup:     os.Getenv("ACI_RESOURCE_GROUP"),
		Region:            os.Getenv("ACI_REGION"),
		OSType:            envOr("ACI_OS_TYPE", string(armcontainerinstance.OperatingSystemTypesLinux)),
		SubnetID:          os.Getenv("ACI_SUBNET_ID"),
		Owner:             "surge-vnode",
		DefaultCPU:        "1",
		DefaultMemory:     "1.5G",
		CapacityCPU:       "10k",
		CapacityMemory:    "4Ti",
		CapacityPods:      5000,
		MaxRetries:        4,
		RetryDelay:        800 * time.Millisecond,
		MaxRetryDelay:     60 * time.Second,
		BackoffBase:       2 * time.Second,
		BackoffMax:        2 * time.Minute,
		PollInterval:      5 * time.Second,
		DetailGetsPerList: 10,
		DetailRefresh:     30 * time.Second,
		LogFollowInterval: 2 * time.Second,
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// AddFlags registers the --aci-* flags on fs, with o's current values as defaults.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.SubscriptionID, "aci-subscription-id", o.SubscriptionID, "Azure subscription ID (env AZURE_SUBSCRIPTION_ID)")
	fs.StringVar(&o.ResourceGroup, "aci-resource-group", o.ResourceGroup, "resource group for container groups (env ACI_RESOURCE_GROUP)")
	fs.StringVar(&o.Region, "aci-region", o.Region, "Azure region of new container groups (env ACI_REGION)")
	fs.StringVar(&o.OSType, "aci-os-type", o.OSType, "container group OS type: Linux or Windows (env ACI_OS_TYPE)")
	fs.StringVar(&o.SubnetID, "aci-subnet-id", o.SubnetID, "optional subnet resource ID for VNet injection; groups get a private IP (env ACI_SUBNET_ID)")
	fs.BoolVar(&o.PublicIP, "aci-public-ip", o.PublicIP, "give groups with container ports a public IP exposing them (ignored with --aci-subnet-id)")
	fs.StringVar(&o.DNSNameLabel, "aci-dns-name-label", o.DNSNameLabel, "with --aci-public-ip, DNS name label prefix: each group gets <prefix>-<group name>")
	fs.StringVar(&o.GPUSKU, "aci-gpu-sku", o.GPUSKU, "GPU SKU (K80, P100, V100) for containers requesting GPUs; empty refuses them")
	fs.StringVar(&o.Owner, "aci-owner", o.Owner, "owner tag written on groups; List only adopts groups with this owner")
	fs.StringVar(&o.DefaultCPU, "aci-default-cpu", o.DefaultCPU, "CPU request for containers without requests or limits")
	fs.StringVar(&o.DefaultMemory, "aci-default-memory", o.DefaultMemory, "memory request for containers without requests or limits")
	fs.StringVar(&o.CapacityCPU, "aci-capacity-cpu", o.CapacityCPU, "CPU capacity the virtual node reports")
	fs.StringVar(&o.CapacityMemory, "aci-capacity-memory", o.CapacityMemory, "memory capacity the virtual node reports")
	fs.Int64Var(&o.CapacityPods, "aci-capacity-pods", o.CapacityPods, "pod capacity the virtual node reports")
	fs.Int32Var(&o.MaxRetries, "aci-max-retries", o.MaxRetries, "SDK retries for 408/429/5xx before a call fails")
	fs.DurationVar(&o.RetryDelay, "aci-retry-delay", o.RetryDelay, "SDK initial retry delay when no Retry-After is given")
	fs.DurationVar(&o.MaxRetryDelay, "aci-max-retry-delay", o.MaxRetryDelay, "SDK maximum retry delay; a longer Retry-After ends the SDK's retries")
	fs.DurationVar(&o.BackoffBase, "aci-backoff-base", o.BackoffBase, "first back-off after the SDK gives up on throttling or 5xx")
	fs.DurationVar(&o.BackoffMax, "aci-backoff-max", o.BackoffMax, "longest back-off after repeated throttling or 5xx")
	fs.DurationVar(&o.PollInterval, "aci-poll-interval", o.PollInterval, "poll interval of long-running create and delete operations")
	fs.IntVar(&o.DetailGetsPerList, "aci-detail-gets-per-list", o.DetailGetsPerList, "container group GETs List may add per call to read container states; 0 disables")
	fs.DurationVar(&o.DetailRefresh, "aci-detail-refresh", o.DetailRefresh, "age after which a running group's container states are re-read")
	fs.DurationVar(&o.LogFollowInterval, "aci-log-follow-interval", o.LogFollowInterval, "how often followed logs are re-read")
}

// settings is Options validated and parsed.
type settings struct {
	osType                   armcontainerinstance.OperatingSystemTypes
	gpuSKU                   armcontainerinstance.GpuSKU
	defaultMilliCPU          int64
	defaultMemory            int64
	capacity                 providers.Resources
	subscription, group, loc string
}

// Validate checks o and reports every problem at once.
func (o *Options) Validate() error {
	_, err := o.parse()
	return err
}

func (o *Options) parse() (settings, error) {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	s := settings{subscription: o.SubscriptionID, group: o.ResourceGroup, loc: o.Region}
	if o.SubscriptionID == "" {
		bad("--aci-subscription-id (or AZURE_SUBSCRIPTION_ID) is required")
	}
	if o.ResourceGroup == "" {
		bad("--aci-resource-group (or ACI_RESOURCE_GROUP) is required")
	}
	if o.Region == "" {
		bad("--aci-region (or ACI_REGION) is required")
	}
	switch {
	case strings.EqualFold(o.OSType, "linux"):
		s.osType = armcontainerinstance.OperatingSystemTypesLinux
	case strings.EqualFold(o.OSType, "windows"):
		s.osType = armcontainerinstance.OperatingSystemTypesWindows
	default:
		bad("--aci-os-type %q: want Linux or Windows", o.OSType)
	}
	if o.GPUSKU != "" {
		s.gpuSKU = armcontainerinstance.GpuSKU(strings.ToUpper(o.GPUSKU))
		valid := false
		for _, k := range armcontainerinstance.PossibleGpuSKUValues() {
			valid = valid || k == s.gpuSKU
		}
		if !valid {
			bad("--aci-gpu-sku %q: want one of %v", o.GPUSKU, armcontainerinstance.PossibleGpuSKUValues())
		}
	}
	if o.SubnetID != "" && !strings.Contains(strings.ToLower(o.SubnetID), "/subnets/") {
		bad("--aci-subnet-id %q: want a full subnet resource ID (/subscriptions/.../subnets/NAME)", o.SubnetID)
	}
	if o.DNSNameLabel != "" && sanitizeName(o.DNSNameLabel) != o.DNSNameLabel {
		bad("--aci-dns-name-label %q: use lowercase letters, digits and single hyphens", o.DNSNameLabel)
	}
	if o.Owner == "" || len(o.Owner) > 256 {
		bad("--aci-owner must be 1-256 characters")
	}
	s.defaultMilliCPU = quantity(&errs, "--aci-default-cpu", o.DefaultCPU, true)
	s.defaultMemory = quantity(&errs, "--aci-default-memory", o.DefaultMemory, false)
	s.capacity.MilliCPU = quantity(&errs, "--aci-capacity-cpu", o.CapacityCPU, true)
	s.capacity.MemoryBytes = quantity(&errs, "--aci-capacity-memory", o.CapacityMemory, false)
	s.capacity.Pods = o.CapacityPods
	if o.CapacityPods <= 0 {
		bad("--aci-capacity-pods must be positive")
	}
	if o.PollInterval <= 0 || o.BackoffBase <= 0 || o.BackoffMax < o.BackoffBase {
		bad("--aci-poll-interval and --aci-backoff-base must be positive and --aci-backoff-max >= --aci-backoff-base")
	}
	if o.DetailGetsPerList < 0 || o.MaxRetries < 0 {
		bad("--aci-detail-gets-per-list and --aci-max-retries must not be negative")
	}
	if o.LogFollowInterval <= 0 || o.DetailRefresh <= 0 {
		bad("--aci-log-follow-interval and --aci-detail-refresh must be positive")
	}
	return s, errors.Join(errs...)
}

// quantity parses a positive Kubernetes quantity; milli selects millicores.
func quantity(errs *[]error, flag, v string, milli bool) int64 {
	q, err := resource.ParseQuantity(v)
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s %q: %w", flag, v, err))
		return 0
	}
	n := q.Value()
	if milli {
		n = q.MilliValue()
	}
	if n <= 0 {
		*errs = append(*errs, fmt.Errorf("%s %q must be positive", flag, v))
	}
	return n
}
