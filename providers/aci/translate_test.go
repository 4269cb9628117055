package aci

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

var testTranslator = translator{
	location: "westeurope", osType: armaci.OperatingSystemTypesLinux, owner: "vnode",
	defaultMilliCPU: 1000, defaultMemory: 1_500_000_000,
}

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func podSpec(containers ...providers.ContainerSpec) *providers.InstanceSpec {
	return &providers.InstanceSpec{
		Ref:        providers.InstanceRef{Namespace: "ns", Name: "pod", UID: "uid-1"},
		Containers: containers,
	}
}

func ctr(mut ...func(*providers.ContainerSpec)) providers.ContainerSpec {
	c := providers.ContainerSpec{Name: "main", Image: "myacr.azurecr.io/worker:1"}
	for _, m := range mut {
		m(&c)
	}
	return c
}

func TestTranslateResources(t *testing.T) {
	tests := []struct {
		name        string
		req, lim    providers.ResourceList
		wantReq     [2]float64 // cpu, memory GB
		wantLim     *[2]float64
		wantGPU     int32
		gpuSKU      armaci.GpuSKU
		wantRefusal string
	}{
		{name: "requests only", req: providers.ResourceList{MilliCPU: 250, MemoryBytes: 512 << 20}, wantReq: [2]float64{0.25, 0.6}},
		{name: "limits only: request = limit, as Kubernetes", lim: providers.ResourceList{MilliCPU: 2000, MemoryBytes: 2e9},
			wantReq: [2]float64{2, 2}, wantLim: &[2]float64{2, 2}},
		{name: "neither: configured defaults", wantReq: [2]float64{1, 1.5}},
		{name: "burstable: request below limit", req: providers.ResourceList{MilliCPU: 500, MemoryBytes: 1e9},
			lim: providers.ResourceList{MilliCPU: 1500, MemoryBytes: 3e9}, wantReq: [2]float64{0.5, 1}, wantLim: &[2]float64{1.5, 3}},
		{name: "cpu only: memory defaulted", req: providers.ResourceList{MilliCPU: 100}, wantReq: [2]float64{0.1, 1.5}},
		{name: "rounded up, never down", req: providers.ResourceList{MilliCPU: 1, MemoryBytes: 1}, wantReq: [2]float64{0.01, 0.1}},
		{name: "a mebibyte over a decimal GB rounds up", req: providers.ResourceList{MilliCPU: 1001, MemoryBytes: 1<<30 + 1}, wantReq: [2]float64{1.01, 1.1}},
		{name: "request above limit", req: providers.ResourceList{MilliCPU: 2000}, lim: providers.ResourceList{MilliCPU: 1000},
			wantRefusal: "containers[0].resources: cpu request exceeds its limit"},
		{name: "gpu without sku", lim: providers.ResourceList{GPU: 1}, wantRefusal: "no --aci-gpu-sku"},
		{name: "gpu with sku", lim: providers.ResourceList{GPU: 2}, gpuSKU: armaci.GpuSKUV100, wantReq: [2]float64{1, 1.5}, wantGPU: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTranslator
			tr.gpuSKU = tc.gpuSKU
			spec := podSpec(ctr(func(c *providers.ContainerSpec) { c.Requests, c.Limits = tc.req, tc.lim }))
			cg, err := tr.group(spec, testNow)
			if tc.wantRefusal != "" {
				if !providers.IsUnsupported(err) || !strings.Contains(err.Error(), tc.wantRefusal) {
					t.Fatalf("err = %v, want Unsupported containing %q", err, tc.wantRefusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("group: %v", err)
			}
			r := cg.Properties.Containers[0].Properties.Resources
			if got := [2]float64{*r.Requests.CPU, *r.Requests.MemoryInGB}; got != tc.wantReq {
				t.Errorf("requests = %v, want %v", got, tc.wantReq)
			}
			switch {
			case tc.wantLim == nil && r.Limits != nil && tc.wantGPU == 0:
				t.Errorf("limits = %+v, want none", *r.Limits)
			case tc.wantLim != nil && (r.Limits == nil || [2]float64{deref(r.Limits.CPU), deref(r.Limits.MemoryInGB)} != *tc.wantLim):
				t.Errorf("limits = %+v, want %v", r.Limits, *tc.wantLim)
			}
			if tc.wantGPU > 0 && (r.Requests.Gpu == nil || *r.Requests.Gpu.Count != tc.wantGPU || *r.Requests.Gpu.SKU != tc.gpuSKU) {
				t.Errorf("gpu = %+v, want %d %s", r.Requests.Gpu, tc.wantGPU, tc.gpuSKU)
			}
		})
	}
}

func TestTranslateEnvAndSecrets(t *testing.T) {
	spec := podSpec(ctr(func(c *providers.ContainerSpec) {
		c.Env = []providers.EnvVar{
			{Name: "MODE", Value: "first"},
			{Name: "TOKEN", Value: "s3cr3t-value", Secret: true},
			{Name: "EMPTY"},
			{Name: "MODE", Value: "last"},
		}
	}))
	cg, err := testTranslator.group(spec, testNow)
	if err != nil {
		t.Fatalf("group: %v", err)
	}
	env := cg.Properties.Containers[0].Properties.EnvironmentVariables
	type kv struct{ name, value, secure string }
	var got []kv
	for _, e := range env {
		got = append(got, kv{deref(e.Name), deref(e.Value), deref(e.SecureValue)})
		if e.Value != nil && e.SecureValue != nil {
			t.Errorf("%s has both value and secureValue", deref(e.Name))
		}
	}
	want := []kv{{"MODE", "last", ""}, {"TOKEN", "", "s3cr3t-value"}, {"EMPTY", "", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("env = %+v, want %+v", got, want)
	}
	if env[1].Value != nil {
		t.Fatalf("the secret went out as a plain value")
	}
}

func TestTranslateCommand(t *testing.T) {
	tests := []struct {
		name        string
		command     []string
		args        []string
		workingDir  string
		want        []string
		wantRefusal string
	}{
		{name: "image default", want: nil},
		{name: "command only", command: []string{"/bin/worker"}, want: []string{"/bin/worker"}},
		{name: "command and args concatenate", command: []string{"/bin/sh", "-c"}, args: []string{"echo hi"}, want: []string{"/bin/sh", "-c", "echo hi"}},
		{name: "args alone cannot be expressed", args: []string{"--queue=a"}, wantRefusal: "containers[0].args"},
		{name: "working directory has no ACI field", command: []string{"x"}, workingDir: "/srv", wantRefusal: "containers[0].workingDir"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := podSpec(ctr(func(c *providers.ContainerSpec) {
				c.Command, c.Args, c.WorkingDir = tc.command, tc.args, tc.workingDir
			}))
			cg, err := testTranslator.group(spec, testNow)
			if tc.wantRefusal != "" {
				if !providers.IsUnsupported(err) || !strings.Contains(err.Error(), tc.wantRefusal) {
					t.Fatalf("err = %v, want Unsupported naming %q", err, tc.wantRefusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("group: %v", err)
			}
			var got []string
			for _, s := range cg.Properties.Containers[0].Properties.Command {
				got = append(got, *s)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("command = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestTranslatePortsAndNetwork(t *testing.T) {
	web := func(c *providers.ContainerSpec) {
		c.Ports = []providers.Port{{ContainerPort: 8080}, {ContainerPort: 53, Protocol: "udp"}}
	}
	tests := []struct {
		name        string
		tr          func(*translator)
		containers  []providers.ContainerSpec
		wantIP      armaci.ContainerGroupIPAddressType // "" = no IP address
		wantPorts   []string
		wantSubnet  bool
		wantLabel   string
		wantRefusal string
	}{
		{name: "ports are not published by default", containers: []providers.ContainerSpec{ctr(web)}},
		{name: "public IP when asked", tr: func(t *translator) { t.publicIP = true }, containers: []providers.ContainerSpec{ctr(web)},
			wantIP: armaci.ContainerGroupIPAddressTypePublic, wantPorts: []string{"8080/TCP", "53/UDP"}},
		{name: "public IP with DNS label", tr: func(t *translator) { t.publicIP, t.dnsNameLabel = true, "burst" },
			containers: []providers.ContainerSpec{ctr(web)}, wantIP: armaci.ContainerGroupIPAddressTypePublic,
			wantPorts: []string{"8080/TCP", "53/UDP"}, wantLabel: "burst-ns-pod-"},
		{name: "no ports, no IP even when asked", tr: func(t *translator) { t.publicIP = true }, containers: []providers.ContainerSpec{ctr()}},
		{name: "subnet gives a private IP", tr: func(t *translator) {
			t.subnetID, t.publicIP = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/virtualNetworks/v/subnets/aci", true
		},
			containers: []providers.ContainerSpec{ctr(web)}, wantIP: armaci.ContainerGroupIPAddressTypePrivate, wantPorts: []string{"8080/TCP", "53/UDP"}, wantSubnet: true},
		{name: "subnet without ports", tr: func(t *translator) { t.subnetID = "/x/subnets/aci" }, containers: []providers.ContainerSpec{ctr()}, wantSubnet: true},
		{name: "SCTP refused", containers: []providers.ContainerSpec{ctr(func(c *providers.ContainerSpec) { c.Ports = []providers.Port{{ContainerPort: 9, Protocol: "SCTP"}} })},
			wantRefusal: "containers[0].ports[0].protocol"},
		{name: "port out of range", containers: []providers.ContainerSpec{ctr(func(c *providers.ContainerSpec) { c.Ports = []providers.Port{{ContainerPort: 70000}} })},
			wantRefusal: "containers[0].ports[0].containerPort"},
		{name: "same port in two containers", containers: []providers.ContainerSpec{ctr(web), ctr(web, func(c *providers.ContainerSpec) { c.Name = "sidecar" })},
			wantRefusal: "containers[1].ports[0]: 8080/TCP is already declared by container \"main\""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := testTranslator
			if tc.tr != nil {
				tc.tr(&tr)
			}
			cg, err := tr.group(podSpec(tc.containers...), testNow)
			if tc.wantRefusal != "" {
				if !providers.IsUnsupported(err) || !strings.Contains(err.Error(), tc.wantRefusal) {
					t.Fatalf("err = %v, want Unsupported containing %q", err, tc.wantRefusal)
				}
				return
			}
			if err != nil {
				t.Fatalf("group: %v", err)
			}
			ip := cg.Properties.IPAddress
			if tc.wantIP == "" {
				if ip != nil {
					t.Fatalf("ipAddress = %+v, want none", ip)
				}
			} else {
				var ports []string
				for _, p := range ip.Ports {
					ports = append(ports, strings.Join([]string{itoa(*p.Port), string(*p.Protocol)}, "/"))
				}
				if *ip.Type != tc.wantIP || !reflect.DeepEqual(ports, tc.wantPorts) {
					t.Fatalf("ipAddress = %s %v, want %s %v", *ip.Type, ports, tc.wantIP, tc.wantPorts)
				}
				if label := deref(ip.DNSNameLabel); !strings.HasPrefix(label, tc.wantLabel) || (tc.wantLabel == "") != (label == "") || len(label) > 63 {
					t.Fatalf("dnsNameLabel = %q, want prefix %q", label, tc.wantLabel)
				}
			}
			if got := len(cg.Properties.SubnetIDs) == 1; got != tc.wantSubnet {
				t.Fatalf("subnetIds = %v, want subnet %v", cg.Properties.SubnetIDs, tc.wantSubnet)
			}
		})
	}
}

func itoa(n int32) string { b, _ := json.Marshal(n); return string(b) }

func TestTranslateRefusals(t *testing.T) {
	tests := []struct {
		name string
		spec *providers.InstanceSpec
		want []string
	}{
		{"no containers", podSpec(), []string{"containers: a pod needs at least one container"}},
		{"invalid container names", podSpec(ctr(func(c *providers.ContainerSpec) { c.Name = "a--b" }), ctr(func(c *providers.ContainerSpec) { c.Name = "Main" })),
			[]string{`containers[0].name: "a--b"`, `containers[1].name: "Main"`}},
		{"duplicate container names", podSpec(ctr(), ctr()), []string{`containers[1].name: "main" repeats containers[0]`}},
		{"empty image", podSpec(ctr(func(c *providers.ContainerSpec) { c.Image = " " })), []string{"containers[0].image: required"}},
		{"unknown restart policy", func() *providers.InstanceSpec { s := podSpec(ctr()); s.RestartPolicy = "Sometimes"; return s }(),
			[]string{`restartPolicy: "Sometimes"`}},
		{"every problem at once", podSpec(ctr(func(c *providers.ContainerSpec) { c.WorkingDir, c.Args = "/w", []string{"x"} })),
			[]string{"containers[0].workingDir", "containers[0].args"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := testTranslator.group(tc.spec, testNow)
			if !providers.IsUnsupported(err) {
				t.Fatalf("err = %v, want Unsupported", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestTranslateGroup(t *testing.T) {
	spec := podSpec(ctr(func(c *providers.ContainerSpec) {
		c.Env = []providers.EnvVar{{Name: "PASSWORD", Value: "hunter2", Secret: true}}
	}))
	spec.RestartPolicy = providers.RestartOnFailure
	spec.Labels = map[string]string{"app": "x"}
	spec.RegistryCredentials = []providers.RegistryCredential{
		{Server: "https://MyACR.azurecr.io/v2/", Username: "u", Password: "p"},
		{Server: "myacr.azurecr.io", Username: "second", Password: "ignored"},
		{Server: "https://index.docker.io/v1/", Username: "hub", Password: "unused"},
	}
	before := cloneSpec(t, spec)
	cg, err := testTranslator.group(spec, testNow)
	if err != nil {
		t.Fatalf("group: %v", err)
	}
	if !reflect.DeepEqual(before, spec) {
		t.Fatalf("translation modified its spec")
	}
	p := cg.Properties
	if *cg.Location != "westeurope" || *p.OSType != armaci.OperatingSystemTypesLinux || *p.RestartPolicy != armaci.ContainerGroupRestartPolicyOnFailure {
		t.Fatalf("location/os/restart = %s/%s/%s", *cg.Location, *p.OSType, *p.RestartPolicy)
	}
	if len(p.ImageRegistryCredentials) != 1 || *p.ImageRegistryCredentials[0].Server != "myacr.azurecr.io" || *p.ImageRegistryCredentials[0].Username != "u" {
		t.Fatalf("registry credentials = %s, want only the first myacr.azurecr.io login", mustJSON(t, p.ImageRegistryCredentials))
	}
	ref, ok := refFromTags(cg.Tags)
	if !ok || ref != spec.Ref || deref(cg.Tags[TagOwner]) != "vnode" || !createdFromTags(cg.Tags).Equal(testNow) {
		t.Fatalf("tags = %s", mustJSON(t, cg.Tags))
	}
}

func TestRegistryCredentials(t *testing.T) {
	tests := []struct {
		image, server, want string
	}{
		{"nginx", "https://index.docker.io/v1/", "index.docker.io"},
		{"library/nginx:1", "docker.io", "index.docker.io"},
		{"docker.io/library/nginx", "registry-1.docker.io", "index.docker.io"},
		{"myacr.azurecr.io/app:1", "MYACR.azurecr.io", "myacr.azurecr.io"},
		{"localhost:5000/app", "http://localhost:5000", "localhost:5000"},
		{"ghcr.io/org/app", "myacr.azurecr.io", ""},
		{"org/app", "ghcr.io", ""},
	}
	for _, tc := range tests {
		t.Run(tc.image+"@"+tc.server, func(t *testing.T) {
			spec := podSpec(ctr(func(c *providers.ContainerSpec) { c.Image = tc.image }))
			spec.RegistryCredentials = []providers.RegistryCredential{{Server: tc.server, Username: "u", Password: "p"}}
			got := registryCredentials(spec)
			if tc.want == "" {
				if len(got) != 0 {
					t.Fatalf("got %s, want no credential", *got[0].Server)
				}
				return
			}
			if len(got) != 1 || *got[0].Server != tc.want {
				t.Fatalf("got %d credentials, want one for %s", len(got), tc.want)
			}
		})
	}
}

func cloneSpec(t *testing.T, s *providers.InstanceSpec) *providers.InstanceSpec {
	t.Helper()
	var out providers.InstanceSpec
	if err := json.Unmarshal([]byte(mustJSON(t, s)), &out); err != nil {
		t.Fatal(err)
	}
	return &out
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// FuzzRegistryCredentials feeds arbitrary image references and docker config
// server names (user input from pods and imagePullSecrets) to the credential
// filter: servers come out as a bare lowercase host, and a credential is only
// passed for a registry one of the images uses.
func FuzzRegistryCredentials(f *testing.F) {
	f.Add("myacr.azurecr.io/app:1", "https://MyACR.azurecr.io/v2/")
	f.Add("nginx", "https://index.docker.io/v1/")
	f.Add("localhost:5000/x", "http://localhost:5000")
	f.Add("", "")
	f.Add("a/b/c", "/")
	f.Fuzz(func(t *testing.T, image, server string) {
		got := registryServer(server)
		if strings.ContainsAny(got, "/") || strings.ToLower(got) != got || strings.HasPrefix(got, "http") && strings.Contains(got, "://") {
			t.Fatalf("registryServer(%q) = %q", server, got)
		}
		spec := podSpec(ctr(func(c *providers.ContainerSpec) { c.Image = image }))
		spec.RegistryCredentials = []providers.RegistryCredential{{Server: server, Username: "u", Password: "p"}}
		creds := registryCredentials(spec)
		if len(creds) > 1 || (len(creds) == 1 && imageRegistry(image) != got) {
			t.Fatalf("image %q, server %q: %d credentials", image, server, len(creds))
		}
	})
}
