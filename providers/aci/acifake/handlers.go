package acifake

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	azfake "github.com/Azure/azure-sdk-for-go/sdk/azcore/fake"
	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"
)

func key(rg, name string) string { return strings.ToLower(rg + "/" + name) }

type createResp = armaci.ContainerGroupsClientCreateOrUpdateResponse

func (s *Server) beginCreateOrUpdate(_ context.Context, rg, name string, cg armaci.ContainerGroup,
	_ *armaci.ContainerGroupsClientBeginCreateOrUpdateOptions) (resp azfake.PollerResponder[createResp], errResp azfake.ErrorResponder) {
	if err := validate(name, &cg); err != "" {
		errResp.SetResponseError(http.StatusBadRequest, err)
		return resp, errResp
	}
	spec := strip(cg)
	js, _ := json.Marshal(spec)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	g, exists := s.groups[key(rg, name)]
	switch {
	case !exists:
		if s.cfg.MaxGroups > 0 && s.countLocked(rg) >= s.cfg.MaxGroups {
			errResp.SetResponseError(http.StatusBadRequest, "ContainerGroupQuotaReached")
			return resp, errResp
		}
		s.ipSeq++
		g = &group{rg: rg, name: name, created: now, extra: map[string][]logLine{},
			ip: fmt.Sprintf("10.%d.%d.%d", s.ipSeq>>16&255, s.ipSeq>>8&255, s.ipSeq&255)}
		s.groups[key(rg, name)] = g
	case !bytes.Equal(js, g.specJSON):
		g.created = now // an update restarts the group's containers, as in ACI
	}
	if s.cfg.CreateSteps < 0 && (!exists || !bytes.Equal(js, g.specJSON)) {
		g.created = now.Add(-s.cfg.ProvisionDelay) // synchronous: provisioned at once
	}
	g.spec, g.specJSON = spec, js
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	for i := 0; i < s.cfg.CreateSteps; i++ {
		resp.AddNonTerminalResponse(status, nil)
		status = http.StatusOK
	}
	if s.provisioning(g, s.readyAt(g)) == "Failed" {
		resp.SetTerminalError(http.StatusBadRequest, "InaccessibleImage")
		return resp, errResp
	}
	resp.SetTerminalResponse(status, createResp{ContainerGroup: s.view(g, s.readyAt(g), true)}, nil)
	return resp, errResp
}

type deleteResp = armaci.ContainerGroupsClientDeleteResponse

func (s *Server) beginDelete(_ context.Context, rg, name string,
	_ *armaci.ContainerGroupsClientBeginDeleteOptions) (resp azfake.PollerResponder[deleteResp], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.groups[key(rg, name)]; !ok {
		resp.SetTerminalResponse(http.StatusNoContent, deleteResp{}, nil) // ARM: nothing to delete
		return resp, errResp
	}
	delete(s.groups, key(rg, name))
	for i := 0; i < s.cfg.DeleteSteps; i++ {
		resp.AddNonTerminalResponse(http.StatusAccepted, nil)
	}
	resp.SetTerminalResponse(http.StatusOK, deleteResp{}, nil)
	return resp, errResp
}

func (s *Server) get(_ context.Context, rg, name string,
	_ *armaci.ContainerGroupsClientGetOptions) (resp azfake.Responder[armaci.ContainerGroupsClientGetResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[key(rg, name)]
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return resp, errResp
	}
	resp.SetResponse(http.StatusOK, armaci.ContainerGroupsClientGetResponse{ContainerGroup: s.view(g, s.cfg.Clock.Now(), true)}, nil)
	return resp, errResp
}

type listResp = armaci.ContainerGroupsClientListByResourceGroupResponse

func (s *Server) listByResourceGroup(rg string,
	_ *armaci.ContainerGroupsClientListByResourceGroupOptions) (resp azfake.PagerResponder[listResp]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.Clock.Now()
	var all []*armaci.ContainerGroup
	for _, g := range s.sortedLocked(rg) {
		v := s.view(g, now, s.cfg.ListIncludesInstanceView)
		all = append(all, &v)
	}
	for len(all) > s.cfg.PageSize {
		resp.AddPage(http.StatusOK, listResp{ContainerGroupListResult: armaci.ContainerGroupListResult{Value: all[:s.cfg.PageSize]}}, nil)
		all = all[s.cfg.PageSize:]
	}
	resp.AddPage(http.StatusOK, listResp{ContainerGroupListResult: armaci.ContainerGroupListResult{Value: all}}, nil)
	return resp
}

func (s *Server) listLogs(_ context.Context, rg, name, container string,
	o *armaci.ContainersClientListLogsOptions) (resp azfake.Responder[armaci.ContainersClientListLogsResponse], errResp azfake.ErrorResponder) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.groups[key(rg, name)]
	var content string
	if ok {
		content, ok = s.logs(g, container, s.cfg.Clock.Now(), o != nil && deref(o.Timestamps))
	}
	if !ok {
		errResp.SetResponseError(http.StatusNotFound, "ResourceNotFound")
		return resp, errResp
	}
	if o != nil && o.Tail != nil && *o.Tail > 0 {
		lines := strings.SplitAfter(content, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		content = strings.Join(lines[max(0, len(lines)-int(*o.Tail)):], "")
	}
	resp.SetResponse(http.StatusOK, armaci.ContainersClientListLogsResponse{Logs: armaci.Logs{Content: ptr(content)}}, nil)
	return resp, errResp
}

func (s *Server) countLocked(rg string) int { return len(s.sortedLocked(rg)) }

func (s *Server) sortedLocked(rg string) []*group {
	var out []*group
	for _, g := range s.groups {
		if strings.EqualFold(g.rg, rg) {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// strip removes the read-only fields a client may send back.
func strip(cg armaci.ContainerGroup) armaci.ContainerGroup {
	out := clone(cg)
	out.ID, out.Name, out.Type = nil, nil, nil
	out.Properties.ProvisioningState, out.Properties.InstanceView = nil, nil
	for _, c := range out.Properties.Containers {
		c.Properties.InstanceView = nil
	}
	if out.Properties.IPAddress != nil {
		out.Properties.IPAddress.IP, out.Properties.IPAddress.Fqdn = nil, nil
	}
	return out
}
