// Package vnode is surge-vnode's virtual-kubelet handler: it registers a
// virtual node and runs the pods bound to it as instances of a
// providers.Backend.
//
// virtual-kubelet's `node` package does the Kubernetes side: NodeController
// registers the Node and keeps its lease; PodController watches the pods bound
// to the node and calls the Handler (its PodLifecycleHandler and PodNotifier).
// This package does the rest, in small pieces:
//
//   - translate.go (pure): pod → providers.InstanceSpec, decided by [Translate]. Fields the backends
//     cannot honour (host networking, host PID/IPC, volumes other than the
//     injected service account token, privileged, added capabilities, host
//     ports, init containers, stdin/tty, non-linux) fail the pod with reason
//     UnsupportedPodSpec and a message naming every field. Accepted fields that
//     are not acted on (probes, lifecycle hooks) raise a Warning event.
//   - env.go (pure over an ObjectGetter): the environment as the kubelet builds
//     it, envFrom, Secrets (marked Secret), ConfigMaps, downward API fields and
//     resources, $(VAR) expansion. Secrets and ConfigMaps are read with GETs, not
//     a cluster-wide cache. Service links are not injected.
//   - status.go (pure): InstanceStatus → PodStatus, decided by [PodStatus] (and
//     [FailedStatus], [DeletedStatus] for pods that never start or are gone);
//     every time comes from the instance, so equal input gives equal output and
//     only real changes are sent to the API server.
//   - handler.go: the PodLifecycleHandler. Create is idempotent per pod UID, so
//     a restarted surge-vnode re-adopts its instances when virtual-kubelet hands
//     it the pods again.
//   - tracker.go: one Backend.List per interval (and soon after each create),
//     status notifications for what changed, and a sweep of instances whose pod
//     is gone from this node.
//   - node.go: the Node (taint virtual-kubelet.io/provider=<backend>:NoSchedule,
//     labels type=virtual-kubelet and kubernetes.io/role=agent, capacity from
//     Backend.Capacity, InternalIP, kubelet port).
//   - kubeletapi.go: the kubelet HTTPS API for `kubectl logs` (TLS, optional
//     client CA), on net/http rather than node/api (see KubeletAPI).
//   - run.go: wiring; Run is what cmd/surge-vnode calls.
//
// Pod readiness follows the instance: a container is ready while it runs, since
// probes are not run. Image changes to a running pod are not applied (the
// instance would have to be recreated); delete the pod instead. The service
// account token is not given to instances.
package vnode
