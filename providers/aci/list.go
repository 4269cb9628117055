package aci

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

// detail is the result of a GET of one group: unlike ARM's list, it carries the
// group's and containers' instance views (states, exit codes, events).
type detail struct {
	group *armaci.ContainerGroup
	at    time.Time
}

// detailParallelism bounds concurrent detail GETs.
const detailParallelism = 4

// listCall is a List in progress that concurrent callers share.
type listCall struct {
	done chan struct{}
	res  []providers.InstanceStatus
	err  error
}

// List returns the status of every container group this backend owns. Callers
// arriving while a List is in progress wait for it and share its result (each
// gets its own copy), so concurrent callers cost one paged call.
func (b *Backend) List(ctx context.Context) ([]providers.InstanceStatus, error) {
	b.mu.Lock()
	if c := b.listing; c != nil {
		b.mu.Unlock()
		select {
		case <-c.done:
			return copyStatuses(c.res), c.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	c := &listCall{done: make(chan struct{})}
	b.listing = c
	b.mu.Unlock()
	c.res, c.err = b.list(ctx)
	b.mu.Lock()
	b.listing = nil
	b.mu.Unlock()
	close(c.done)
	return copyStatuses(c.res), c.err
}

// list does one List: the owned groups from ARM's paged list, their details
// refreshed, each group's status with the failure of its last operation, if any.
func (b *Backend) list(ctx context.Context) ([]providers.InstanceStatus, error) {
	if err := b.bo.check(); err != nil {
		return nil, err
	}
	groups, err := b.listOwned(ctx)
	if err != nil {
		return nil, err
	}
	b.bo.success()
	b.refreshDetails(ctx, groups)

	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]providers.InstanceStatus, 0, len(groups))
	for _, g := range groups {
		if st, ok := b.statusLocked(g); ok {
			out = append(out, st)
		}
	}
	b.forgetUnlistedLocked(groups)
	return out, nil
}

// listOwned pages through the resource group's container groups and returns those
// this backend owns and can map back to a pod.
func (b *Backend) listOwned(ctx context.Context) ([]*armaci.ContainerGroup, error) {
	var groups []*armaci.ContainerGroup
	pager := b.groups.NewListByResourceGroupPager(b.set.group, nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			err = b.observe(classify("list", b.set.group, err))
			if providers.IsNotFound(err) {
				// The resource group itself is missing: a configuration error,
				// not "no such instance".
				err = errors.Unwrap(err)
			}
			return nil, err
		}
		for _, g := range page.Value {
			if g != nil && deref(g.Tags[TagOwner]) == b.opts.Owner {
				if _, ok := refFromTags(g.Tags); ok {
					groups = append(groups, g)
				}
			}
		}
	}
	return groups, nil
}

// statusLocked returns the status of listed group g, merged with its detail and
// failed if its last operation failed; false if g is being deleted. b.mu is held.
func (b *Backend) statusLocked(g *armaci.ContainerGroup) (providers.InstanceStatus, bool) {
	ref, _ := refFromTags(g.Tags)
	if _, gone := b.deleting[ref.UID]; gone {
		return providers.InstanceStatus{}, false
	}
	st, _ := groupStatus(merge(g, b.details[deref(g.Name)].group))
	if f, ok := b.failed[ref.UID]; ok && st.Phase != providers.PhaseSucceeded {
		// The operation's error explains the failure unless the group's own
		// events already do.
		if st.Phase != providers.PhaseFailed || st.Message == "" {
			st.Message = f.message
		}
		st.Phase, st.Reason = providers.PhaseFailed, f.reason
	}
	return st, true
}

// forgetUnlistedLocked drops the details of groups no longer listed and the failures
// of pods whose group is neither listed nor being created. b.mu is held.
func (b *Backend) forgetUnlistedLocked(groups []*armaci.ContainerGroup) {
	listedNames, listedUIDs := map[string]bool{}, map[string]bool{}
	for _, g := range groups {
		ref, _ := refFromTags(g.Tags)
		listedNames[deref(g.Name)], listedUIDs[ref.UID] = true, true
	}
	for name := range b.details {
		if !listedNames[name] {
			delete(b.details, name)
		}
	}
	for uid := range b.failed {
		if _, creating := b.creating[uid]; !listedUIDs[uid] && !creating {
			delete(b.failed, uid)
		}
	}
}

// refreshDetails GETs up to Options.DetailGetsPerList groups: first those without
// a detail or whose provisioning state changed since it, then the oldest details
// past Options.DetailRefresh, which keeps the GETs far below one per group per
// poll. Groups whose detail shows they finished for good are not
// refreshed. GET failures leave the old detail in place.
func (b *Backend) refreshDetails(ctx context.Context, groups []*armaci.ContainerGroup) {
	budget := b.opts.DetailGetsPerList
	if budget <= 0 {
		return
	}
	type candidate struct {
		name   string
		urgent bool
		at     time.Time
	}
	now := b.clock.Now()
	var cands []candidate
	b.mu.Lock()
	for _, g := range groups {
		name := deref(g.Name)
		d, has := b.details[name]
		ps := provisioningState(g)
		switch {
		case ps != "succeeded" && ps != "failed":
			// still provisioning (or deleting): the list says all there is
		case !has || provisioningState(d.group) != ps:
			cands = append(cands, candidate{name: name, urgent: true})
		case !finished(d.group) && now.Sub(d.at) >= b.opts.DetailRefresh:
			cands = append(cands, candidate{name: name, at: d.at})
		}
	}
	b.mu.Unlock()
	sort.SliceStable(cands, func(i, j int) bool {
		if cands[i].urgent != cands[j].urgent {
			return cands[i].urgent
		}
		return cands[i].at.Before(cands[j].at)
	})
	if len(cands) > budget {
		cands = cands[:budget]
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, detailParallelism)
	for _, c := range cands {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			if b.bo.check() != nil {
				return
			}
			resp, err := b.groups.Get(ctx, b.set.group, c.name, nil)
			if err != nil {
				b.observe(classify("get", c.name, err)) //nolint:errcheck // a failed refresh keeps the old detail
				return
			}
			b.mu.Lock()
			b.details[c.name] = detail{group: &resp.ContainerGroup, at: b.clock.Now()}
			b.mu.Unlock()
		})
	}
	wg.Wait()
}

func provisioningState(g *armaci.ContainerGroup) string {
	if g == nil || g.Properties == nil {
		return ""
	}
	return strings.ToLower(deref(g.Properties.ProvisioningState))
}

// finished reports whether a group's detail shows a final state: provisioning
// failed, or every container terminated and the group Succeeded or Failed.
func finished(g *armaci.ContainerGroup) bool {
	if provisioningState(g) == "failed" {
		return true
	}
	if g == nil || g.Properties == nil || g.Properties.InstanceView == nil {
		return false
	}
	s := strings.ToLower(deref(g.Properties.InstanceView.State))
	return s == "succeeded" || s == "failed" || s == "stopped"
}

// merge returns the listed group with the instance views of its detail. The
// listed group is fresher for the provisioning state; the detail is the only
// source of instance views. Neither input is modified.
func merge(listed, det *armaci.ContainerGroup) *armaci.ContainerGroup {
	if det == nil || det.Properties == nil || listed.Properties == nil {
		return listed
	}
	g := *listed
	props := *listed.Properties
	props.InstanceView = det.Properties.InstanceView
	views := map[string]*armaci.ContainerPropertiesInstanceView{}
	for _, c := range det.Properties.Containers {
		if c != nil && c.Properties != nil {
			views[deref(c.Name)] = c.Properties.InstanceView
		}
	}
	props.Containers = make([]*armaci.Container, len(listed.Properties.Containers))
	for i, c := range listed.Properties.Containers {
		if c == nil {
			continue
		}
		cc := *c
		if c.Properties != nil {
			cp := *c.Properties
			cp.InstanceView = views[deref(c.Name)]
			cc.Properties = &cp
		}
		props.Containers[i] = &cc
	}
	g.Properties = &props
	return &g
}

// copyStatuses deep-copies statuses so callers never share slices.
func copyStatuses(in []providers.InstanceStatus) []providers.InstanceStatus {
	if in == nil {
		return nil
	}
	out := make([]providers.InstanceStatus, len(in))
	for i, s := range in {
		out[i] = s
		out[i].Containers = append([]providers.ContainerStatus(nil), s.Containers...)
	}
	return out
}
