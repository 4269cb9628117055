package vnode

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/providers"
)

// defaultGracePeriod is the pod termination grace period when a pod sets none
// (the API server normally defaults it to 30 s already).
const defaultGracePeriod = 30 * time.Second

// gpuResource is the extended resource translated to ResourceList.GPU.
const gpuResource corev1.ResourceName = "nvidia.com/gpu"

// UnsupportedError says a pod asks for something the virtual node cannot do. It
// names every offending field, so the pod's status tells the user exactly what
// to change.
type UnsupportedError struct {
	Fields []FieldProblem
}

// FieldProblem is one unsupported field.
type FieldProblem struct {
	Field  string // e.g. spec.volumes[0].hostPath
	Detail string
}

func (e *UnsupportedError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Detail
	}
	return "not supported on a virtual node: " + strings.Join(parts, "; ")
}

// Translate turns a pod into the backend-neutral InstanceSpec. env holds each
// container's resolved environment, by container name (see ResolveEnv);
// pullSecrets the pod's registry credentials. Translate is pure: it reads the pod
// and never modifies it. Fields a backend cannot honour make it return an
// *UnsupportedError naming each of them; fields with no effect on where a
// process runs (probes, lifecycle hooks, security context user IDs, DNS
// settings) are accepted, and Warnings lists the ones the pod's owner should know
// are not acted on.
func Translate(pod *corev1.Pod, env map[string][]providers.EnvVar, pullSecrets []providers.RegistryCredential) (*providers.InstanceSpec, error) {
	if problems := unsupported(pod); len(problems) > 0 {
		return nil, &UnsupportedError{Fields: problems}
	}
	spec := &providers.InstanceSpec{
		Ref:                    providers.InstanceRef{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)},
		RestartPolicy:          restartPolicy(pod.Spec.RestartPolicy),
		TerminationGracePeriod: defaultGracePeriod,
		RegistryCredentials:    pullSecrets,
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		spec.TerminationGracePeriod = time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	if len(pod.Labels) > 0 {
		spec.Labels = make(map[string]string, len(pod.Labels))
		for k, v := range pod.Labels {
			spec.Labels[k] = v
		}
	}
	for _, c := range pod.Spec.Containers {
		vars := env[c.Name]
		lookup := func(name string) (string, bool) {
			for i := len(vars) - 1; i >= 0; i-- {
				if vars[i].Name == name {
					return vars[i].Value, true
				}
			}
			return "", false
		}
		cs := providers.ContainerSpec{
			Name:       c.Name,
			Image:      c.Image,
			Command:    expandAll(c.Command, lookup),
			Args:       expandAll(c.Args, lookup),
			Env:        append([]providers.EnvVar(nil), vars...),
			WorkingDir: c.WorkingDir,
			Requests:   resourceList(c.Resources.Requests),
			Limits:     resourceList(c.Resources.Limits),
		}
		for _, p := range c.Ports {
			proto := string(p.Protocol)
			if proto == "" {
				proto = string(corev1.ProtocolTCP)
			}
			cs.Ports = append(cs.Ports, providers.Port{Name: p.Name, ContainerPort: p.ContainerPort, Protocol: proto})
		}
		spec.Containers = append(spec.Containers, cs)
	}
	return spec, nil
}

// expandAll expands $(VAR) references in command or args, as the kubelet does.
func expandAll(in []string, lookup func(string) (string, bool)) []string {
	if in == nil {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = Expand(s, lookup)
	}
	return out
}

func restartPolicy(p corev1.RestartPolicy) providers.RestartPolicy {
	switch p {
	case corev1.RestartPolicyNever:
		return providers.RestartNever
	case corev1.RestartPolicyOnFailure:
		return providers.RestartOnFailure
	}
	return providers.RestartAlways
}

func resourceList(rl corev1.ResourceList) providers.ResourceList {
	var out providers.ResourceList
	if q, ok := rl[corev1.ResourceCPU]; ok {
		out.MilliCPU = q.MilliValue()
	}
	if q, ok := rl[corev1.ResourceMemory]; ok {
		out.MemoryBytes = q.Value()
	}
	if q, ok := rl[gpuResource]; ok {
		out.GPU = q.Value()
	}
	return out
}

// unsupported lists the fields of pod that a virtual node cannot honour.
func unsupported(pod *corev1.Pod) []FieldProblem {
	var out []FieldProblem
	add := func(field, detail string) { out = append(out, FieldProblem{Field: field, Detail: detail}) }
	s := &pod.Spec
	if s.HostNetwork {
		add("spec.hostNetwork", "host networking is not available")
	}
	if s.HostPID {
		add("spec.hostPID", "the host's PID namespace is not available")
	}
	if s.HostIPC {
		add("spec.hostIPC", "the host's IPC namespace is not available")
	}
	if s.OS != nil && s.OS.Name != corev1.Linux {
		add("spec.os.name", fmt.Sprintf("only linux pods run here, not %s", s.OS.Name))
	}
	for i, c := range s.InitContainers {
		add(fmt.Sprintf("spec.initContainers[%d]", i), fmt.Sprintf("init container %q: init and sidecar containers are not supported", c.Name))
	}
	ignored := map[string]bool{}
	for i, v := range s.Volumes {
		field := fmt.Sprintf("spec.volumes[%d]", i)
		switch {
		case isServiceAccountTokenVolume(v):
			ignored[v.Name] = true // injected by the API server; burst instances get no token
		case v.HostPath != nil:
			add(field+".hostPath", fmt.Sprintf("volume %q: host paths are not available", v.Name))
		default:
			add(field, fmt.Sprintf("volume %q: volumes are not supported by the virtual node's backends", v.Name))
		}
	}
	for i, c := range s.Containers {
		out = append(out, unsupportedContainer(fmt.Sprintf("spec.containers[%d]", i), c, ignored)...)
	}
	return out
}

func unsupportedContainer(field string, c corev1.Container, ignoredVolumes map[string]bool) []FieldProblem {
	var out []FieldProblem
	add := func(f, detail string) { out = append(out, FieldProblem{Field: field + f, Detail: detail}) }
	if sc := c.SecurityContext; sc != nil {
		if sc.Privileged != nil && *sc.Privileged {
			add(".securityContext.privileged", "privileged containers are not available")
		}
		if sc.Capabilities != nil && len(sc.Capabilities.Add) > 0 {
			add(".securityContext.capabilities.add", "adding capabilities is not available")
		}
	}
	for j, p := range c.Ports {
		if p.HostPort != 0 {
			add(fmt.Sprintf(".ports[%d].hostPort", j), "host ports are not available")
		}
	}
	for j, m := range c.VolumeMounts {
		if !ignoredVolumes[m.Name] {
			add(fmt.Sprintf(".volumeMounts[%d]", j), fmt.Sprintf("mount of volume %q: volumes are not supported", m.Name))
		}
	}
	if len(c.VolumeDevices) > 0 {
		add(".volumeDevices", "block devices are not available")
	}
	if c.Stdin || c.TTY {
		add(".stdin", "interactive containers (stdin, tty) are not supported")
	}
	return out
}

// isServiceAccountTokenVolume reports whether v is the projected volume the API
// server injects for the service account token (kube-api-access-*).
func isServiceAccountTokenVolume(v corev1.Volume) bool {
	if v.Projected == nil {
		return false
	}
	for _, src := range v.Projected.Sources {
		if src.ServiceAccountToken != nil {
			return true
		}
	}
	return false
}

// Warnings lists accepted pod features that the virtual node does not act on, so
// the handler can tell the pod's owner in an event rather than ignore them
// silently.
func Warnings(pod *corev1.Pod) []string {
	var out []string
	for i, c := range pod.Spec.Containers {
		field := fmt.Sprintf("spec.containers[%d]", i)
		if c.LivenessProbe != nil || c.ReadinessProbe != nil || c.StartupProbe != nil {
			out = append(out, field+": probes are not run; the container is ready while its process runs")
		}
		if c.Lifecycle != nil && (c.Lifecycle.PostStart != nil || c.Lifecycle.PreStop != nil) {
			out = append(out, field+".lifecycle: hooks are not run; deletion sends SIGTERM, then SIGKILL after the grace period")
		}
	}
	return out
}
