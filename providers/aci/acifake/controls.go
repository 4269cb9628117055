package acifake

import (
	"fmt"
	"strings"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
)

// Group limits of a standard Linux container group in most regions.
const (
	maxGroupCPU      = 4
	maxGroupMemoryGB = 16
)

// validate checks a PUT the way ACI would, returning an error code or "".
func validate(name string, cg *armaci.ContainerGroup) string {
	if !validName(name) {
		return "InvalidContainerGroupName"
	}
	p := cg.Properties
	if deref(cg.Location) == "" || p == nil || p.OSType == nil || len(p.Containers) == 0 {
		return "InvalidRequestContent"
	}
	if p.RestartPolicy != nil {
		ok := false
		for _, v := range armaci.PossibleContainerGroupRestartPolicyValues() {
			ok = ok || v == *p.RestartPolicy
		}
		if !ok {
			return "InvalidRestartPolicy"
		}
	}
	names := map[string]bool{}
	ports := map[int32]bool{}
	var cpu, mem float64
	for _, c := range p.Containers {
		n := deref(c.Name)
		if !validName(n) || names[n] {
			return "InvalidContainerName"
		}
		names[n] = true
		if c.Properties == nil || deref(c.Properties.Image) == "" {
			return "InvalidContainerImage"
		}
		if code := validResources(c.Properties.Resources); code != "" {
			return code
		}
		cpu += deref(c.Properties.Resources.Requests.CPU)
		mem += deref(c.Properties.Resources.Requests.MemoryInGB)
		env := map[string]bool{}
		for _, e := range c.Properties.EnvironmentVariables {
			if deref(e.Name) == "" || env[deref(e.Name)] {
				return "InvalidEnvironmentVariable"
			}
			env[deref(e.Name)] = true
		}
		for _, port := range c.Properties.Ports {
			ports[deref(port.Port)] = true
		}
	}
	if cpu > maxGroupCPU || mem > maxGroupMemoryGB {
		return "ContainerGroupResourcesExceeded"
	}
	if ip := p.IPAddress; ip != nil {
		if ip.Type == nil || len(ip.Ports) == 0 {
			return "InvalidIPAddress"
		}
		for _, port := range ip.Ports {
			if !ports[deref(port.Port)] {
				return "InvalidIPAddressPort"
			}
		}
	}
	return ""
}

func validResources(r *armaci.ResourceRequirements) string {
	if r == nil || r.Requests == nil || deref(r.Requests.CPU) <= 0 || deref(r.Requests.MemoryInGB) <= 0 {
		return "InvalidContainerResources"
	}
	if l := r.Limits; l != nil {
		if (l.CPU != nil && *l.CPU < *r.Requests.CPU) || (l.MemoryInGB != nil && *l.MemoryInGB < *r.Requests.MemoryInGB) {
			return "InvalidContainerResourceLimits"
		}
	}
	return ""
}

// validName is ACI's rule for group and container names.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

// DeleteGroup deletes a group behind the client's back; false if absent.
func (s *Server) DeleteGroup(rg, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.groups[key(rg, name)]
	delete(s.groups, key(rg, name))
	return ok
}

// Group returns a group as it was PUT, secure values included (what the client
// sent, for assertions), and whether it exists.
func (s *Server) Group(rg, name string) (armaci.ContainerGroup, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[key(rg, name)]
	if !ok {
		return armaci.ContainerGroup{}, false
	}
	return clone(g.spec), true
}

// GroupNames returns the names of the groups in rg, sorted.
func (s *Server) GroupNames(rg string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, g := range s.sortedLocked(rg) {
		out = append(out, g.name)
	}
	return out
}

// AppendLog adds a line to a container's log, stamped with the current time.
func (s *Server) AppendLog(rg, name, container, line string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[key(rg, name)]
	if !ok {
		return fmt.Errorf("acifake: no group %s/%s", rg, name)
	}
	g.extra[container] = append(g.extra[container], logLine{at: s.cfg.Clock.Now(), text: line})
	return nil
}
