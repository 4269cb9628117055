package acifake

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
)

// group is one simulated container group.
type group struct {
	rg, name string
	spec     armaci.ContainerGroup // as PUT, read-only fields stripped
	specJSON []byte                // to tell a changed PUT from a repeated one
	created  time.Time             // start of the current timeline (reset by an update)
	ip       string
	extra    map[string][]logLine // lines added with AppendLog, by container
}

type logLine struct {
	at   time.Time
	text string
}

// runState is one container's state at some instant.
type runState struct {
	state          string // Waiting, Running, Terminated
	detail         string
	start, finish  time.Time
	exit           int32
	restarts       int32
	final          bool // terminated for good
	previous       bool // a previous run terminated
	previousFinish time.Time
}

func (s *Server) readyAt(g *group) time.Time { return g.created.Add(s.cfg.ProvisionDelay) }

// provisioning returns the group's provisioning state at now.
func (s *Server) provisioning(g *group, now time.Time) string {
	if now.Before(s.readyAt(g)) {
		return "Creating"
	}
	for _, c := range g.spec.Properties.Containers {
		if imageBehaviour(deref(c.Properties.Image)).unpullable {
			return "Failed"
		}
	}
	return "Succeeded"
}

// containerState computes one container's state at now on a provisioned group.
func (s *Server) containerState(g *group, c *armaci.Container, now time.Time) runState {
	ready := s.readyAt(g)
	b := imageBehaviour(deref(c.Properties.Image))
	if !b.exits {
		return runState{state: "Running", start: ready}
	}
	policy := deref(g.spec.Properties.RestartPolicy)
	restarts := policy == armaci.ContainerGroupRestartPolicyAlways ||
		(policy == armaci.ContainerGroupRestartPolicyOnFailure && b.code != 0)
	elapsed := now.Sub(ready)
	if !restarts {
		if elapsed < s.cfg.RunFor {
			return runState{state: "Running", start: ready}
		}
		return runState{state: "Terminated", detail: exitDetail(b.code), start: ready,
			finish: ready.Add(s.cfg.RunFor), exit: b.code, final: true}
	}
	period := s.cfg.RunFor + s.cfg.RestartDelay
	k := elapsed / period
	start := ready.Add(k * period)
	st := runState{start: start, restarts: int32(min(k, 1<<30)), previous: k > 0, previousFinish: start.Add(-s.cfg.RestartDelay)}
	if elapsed-k*period < s.cfg.RunFor {
		st.state = "Running"
		return st
	}
	st.state, st.detail, st.finish, st.exit = "Terminated", exitDetail(b.code), start.Add(s.cfg.RunFor), b.code
	return st
}

func exitDetail(code int32) string {
	if code == 0 {
		return "Completed"
	}
	return "Error"
}

// view renders g as ARM returns it at now: with the provisioning state and IP,
// without secure values or registry passwords, and with instance views only if
// views is true (a GET; ARM's list omits them).
func (s *Server) view(g *group, now time.Time, views bool) armaci.ContainerGroup {
	out := clone(g.spec)
	out.ID = ptr(fmt.Sprintf("/subscriptions/sub/resourceGroups/%s/providers/Microsoft.ContainerInstance/containerGroups/%s", g.rg, g.name))
	out.Name = ptr(g.name)
	out.Type = ptr("Microsoft.ContainerInstance/containerGroups")
	p := out.Properties
	prov := s.provisioning(g, now)
	p.ProvisioningState = ptr(prov)
	if p.IPAddress != nil {
		p.IPAddress.IP = ptr(g.ip)
		if l := deref(p.IPAddress.DNSNameLabel); l != "" {
			p.IPAddress.Fqdn = ptr(l + "." + strings.ToLower(deref(out.Location)) + ".azurecontainer.io")
		}
	}
	for _, rc := range p.ImageRegistryCredentials {
		rc.Password = nil
	}
	for _, c := range p.Containers {
		for _, e := range c.Properties.EnvironmentVariables {
			e.SecureValue = nil
		}
	}
	if !views {
		return out
	}
	p.InstanceView = &armaci.ContainerGroupPropertiesInstanceView{State: ptr("Pending")}
	switch prov {
	case "Creating":
		for _, c := range p.Containers {
			c.Properties.InstanceView = &armaci.ContainerPropertiesInstanceView{
				CurrentState: &armaci.ContainerState{State: ptr("Waiting"), DetailStatus: ptr("Creating")}, RestartCount: ptr[int32](0)}
		}
	case "Failed":
		p.InstanceView.State = ptr("Failed")
		for _, c := range p.Containers {
			iv := &armaci.ContainerPropertiesInstanceView{CurrentState: &armaci.ContainerState{State: ptr("Waiting")}, RestartCount: ptr[int32](0)}
			if img := deref(c.Properties.Image); imageBehaviour(img).unpullable {
				at := s.readyAt(g)
				iv.Events = []*armaci.Event{{Type: ptr("Warning"), Name: ptr("Failed"), Count: ptr[int32](1),
					FirstTimestamp: ptr(at), LastTimestamp: ptr(at),
					Message: ptr(fmt.Sprintf("Failed to pull image %q: manifest unknown", img))}}
			}
			c.Properties.InstanceView = iv
		}
	default:
		s.runningViews(g, p, now)
	}
	return out
}

// runningViews fills the instance views of a provisioned group.
func (s *Server) runningViews(g *group, p *armaci.ContainerGroupPropertiesProperties, now time.Time) {
	final, failed := 0, 0
	for _, c := range p.Containers {
		rs := s.containerState(g, c, now)
		cur := &armaci.ContainerState{State: ptr(rs.state), StartTime: ptr(rs.start)}
		if rs.detail != "" {
			cur.DetailStatus = ptr(rs.detail)
		}
		if rs.state == "Terminated" {
			cur.ExitCode, cur.FinishTime = ptr(rs.exit), ptr(rs.finish)
		}
		iv := &armaci.ContainerPropertiesInstanceView{CurrentState: cur, RestartCount: ptr(rs.restarts)}
		if rs.previous {
			iv.PreviousState = &armaci.ContainerState{State: ptr("Terminated"), FinishTime: ptr(rs.previousFinish)}
		}
		c.Properties.InstanceView = iv
		if rs.final {
			final++
			if rs.exit != 0 {
				failed++
			}
		}
	}
	switch {
	case final < len(p.Containers):
		p.InstanceView.State = ptr("Running")
	case failed == 0:
		p.InstanceView.State = ptr("Succeeded")
	default:
		p.InstanceView.State = ptr("Failed")
	}
}

// logs renders a container's log at now: a line per run start and exit, plus
// the lines added with AppendLog, in time order.
func (s *Server) logs(g *group, container string, now time.Time, timestamps bool) (string, bool) {
	var c *armaci.Container
	for _, x := range g.spec.Properties.Containers {
		if deref(x.Name) == container {
			c = x
		}
	}
	if c == nil {
		return "", false
	}
	var lines []logLine
	if s.provisioning(g, now) == "Succeeded" {
		img := deref(c.Properties.Image)
		rs := s.containerState(g, c, now)
		period := s.cfg.RunFor + s.cfg.RestartDelay
		for k := max(0, int64(rs.restarts)-100); k <= int64(rs.restarts); k++ {
			start := s.readyAt(g).Add(time.Duration(k) * period)
			lines = append(lines, logLine{start, fmt.Sprintf("starting %s (run %d)", img, k)})
			if s.cfg.StartLine != "" {
				lines = append(lines, logLine{start, s.cfg.StartLine})
			}
			if end := start.Add(s.cfg.RunFor); imageBehaviour(img).exits && !end.After(now) {
				lines = append(lines, logLine{end, fmt.Sprintf("exiting with code %d", imageBehaviour(img).code)})
			}
		}
	}
	for _, l := range g.extra[container] {
		if !l.at.After(now) {
			lines = append(lines, l)
		}
	}
	sort.SliceStable(lines, func(i, j int) bool { return lines[i].at.Before(lines[j].at) })
	var b strings.Builder
	for _, l := range lines {
		if timestamps {
			b.WriteString(l.at.UTC().Format(time.RFC3339Nano) + " ")
		}
		b.WriteString(l.text + "\n")
	}
	return b.String(), true
}

// clone deep-copies a group through its JSON form.
func clone(cg armaci.ContainerGroup) armaci.ContainerGroup {
	b, err := json.Marshal(cg)
	if err != nil {
		panic(fmt.Sprintf("acifake: marshal container group: %v", err))
	}
	var out armaci.ContainerGroup
	if err := json.Unmarshal(b, &out); err != nil {
		panic(fmt.Sprintf("acifake: unmarshal container group: %v", err))
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
