// Package controller is surge-scaler's ScaledObject controller (controller-runtime).
//
// Reconcile handles the spec: it validates the ScaledObject, resolves its target,
// (Cluster)TriggerAuthentications, Secrets, ConfigMaps and the target container's
// environment, builds each trigger once per change of its resolved spec (through the
// [trigger.Builder], normally the trigger registry) into a [trigger.Metric], creates
// or updates the owned HPA ([hpa.Build]), registers the triggers with the sample store
// ([store.Store.Set]) and schedules the object's poll. A
// problem with any of it is Ready=False with a message naming the field, a Warning
// event, and no other change: the target and the HPA are left alone, and the object
// is not polled.
//
// The poll (scheduled by scaler/poller every pollingInterval) measures the triggers
// through the store, reads the target's replica count (from the informer cache for
// Deployments and StatefulSets, from /scale otherwise), asks [activation.Decide] what
// to do and applies it through the /scale subresource at once, with its own client and
// rate limits. It never writes status itself: when something the status shows
// changed, it queues the object, and Reconcile writes the status (only when it
// differs). So scale writes are never queued behind status writes, and a steady
// state costs no writes at all.
//
// Deleting a ScaledObject (finalizer surge.dev/scaledobject) stops its poll, closes
// its triggers, deletes its HPA and, with restoreToOriginalReplicaCount, scales the
// target back to status.originalReplicaCount.
package controller
