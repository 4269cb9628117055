package aci

import (
	"context"
	"errors"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	armaci "github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/containerinstance/armcontainerinstance/v2"

	"github.com/surge-autoscaler/surge/providers"
)

// startCreatePoll polls a create's long-running operation in the background, so
// Create never waits for provisioning. Success stores the final group as a
// detail (it carries instance views); failure is kept for List to report.
func (b *Backend) startCreatePoll(uid, name string, p *runtime.Poller[armaci.ContainerGroupsClientCreateOrUpdateResponse]) {
	ctx, cancel := context.WithCancel(b.bg)
	op := &operation{cancel: cancel}
	b.mu.Lock()
	b.creating[uid] = op
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel()
		res, err := pollUntilDone(ctx, b, "create", name, p)
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.creating[uid] != op {
			return // deleted (or superseded) meanwhile
		}
		delete(b.creating, uid)
		switch {
		case ctx.Err() != nil:
		case err == nil:
			b.details[name] = detail{group: &res.ContainerGroup, at: b.clock.Now()}
		case providers.IsTransient(err):
			// Polling gave up, not the operation: List still shows how it ends.
			b.log.Info("stopped polling container group create", "group", name, "err", err)
		default:
			reason := ReasonProvisioningFailed
			if providers.IsQuotaExceeded(err) {
				reason = ReasonQuotaExceeded
			}
			msg := err.Error()
			if ae := (*APIError)(nil); errors.As(err, &ae) {
				msg = ae.Error() // without the providers kind prefix
			}
			b.failed[uid] = failure{reason: reason, message: msg}
			b.log.Info("container group provisioning failed", "group", name, "reason", reason, "err", err)
		}
	}()
}

// startDeletePoll polls a delete's long-running operation in the background.
// While it runs List hides the group and Delete returns nil at once.
func (b *Backend) startDeletePoll(uid, name string, p *runtime.Poller[armaci.ContainerGroupsClientDeleteResponse]) {
	ctx, cancel := context.WithCancel(b.bg)
	op := &operation{cancel: cancel}
	b.mu.Lock()
	b.deleting[uid] = op
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		defer cancel()
		_, err := pollUntilDone(ctx, b, "delete", name, p)
		if err != nil && ctx.Err() == nil && !providers.IsNotFound(err) {
			b.log.Info("container group delete failed", "group", name, "err", err)
		}
		b.mu.Lock()
		if b.deleting[uid] == op {
			delete(b.deleting, uid)
		}
		b.mu.Unlock()
	}()
}

// maxPollErrors is how many transient poll errors in a row end the polling.
const maxPollErrors = 10

// pollUntilDone polls p every Options.PollInterval on the backend's clock until
// it is done or ctx ends. Transient poll errors (after the SDK's own retries) are
// retried after our back-off, up to maxPollErrors in a row; anything else ends
// the operation with that error.
func pollUntilDone[T any](ctx context.Context, b *Backend, op, name string, p *runtime.Poller[T]) (T, error) {
	var zero T
	errs := 0
	for !p.Done() {
		if !b.sleep(ctx, max(b.opts.PollInterval, b.bo.wait())) {
			return zero, ctx.Err()
		}
		if _, err := p.Poll(ctx); err != nil {
			if ctx.Err() != nil {
				return zero, ctx.Err()
			}
			cerr := b.observe(classify(op, name, err))
			if errs++; providers.IsTransient(cerr) && errs < maxPollErrors {
				continue
			}
			return zero, cerr
		}
		errs = 0
	}
	res, err := p.Result(ctx)
	if err != nil {
		return zero, classify(op, name, err)
	}
	return res, nil
}
