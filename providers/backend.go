// Package providers holds the contract between surge-vnode and its serverless
// backends (providers/local, providers/aci, providers/fake). A Backend runs pods as
// container instances. Everything crossing this boundary is backend-neutral: the
// vnode package translates corev1 objects into InstanceSpecs (Secrets, ConfigMaps
// and the downward API already resolved) and InstanceStatuses back into pod status.
package providers

import (
	"context"
	"io"
	"time"
)

// Backend is a serverless backend. Implementations are safe for concurrent use.
//
//   - Create is idempotent per pod UID: creating an instance that already exists for
//     spec.Ref.UID returns nil and changes nothing. Create must not block for the
//     instance to start; progress is observed through List. Create must not modify
//     spec.
//   - Delete stops and removes the instance; deleting an unknown instance returns an
//     error for which IsNotFound is true.
//   - List returns every instance the backend holds, in one call (never one call per
//     pod), including instances whose pod is gone, so callers can sweep them.
//   - Capacity reports what the backend can run, for the node's capacity.
type Backend interface {
	Create(ctx context.Context, spec *InstanceSpec) error
	Delete(ctx context.Context, ref InstanceRef) error
	List(ctx context.Context) ([]InstanceStatus, error)
	Capacity(ctx context.Context) (Resources, error)
}

// LogReader is implemented by backends that can stream a container's logs.
type LogReader interface {
	Logs(ctx context.Context, ref InstanceRef, container string, opts LogOptions) (io.ReadCloser, error)
}

// LogOptions selects part of a log.
type LogOptions struct {
	Tail       int  // lines from the end; 0 = all
	Follow     bool // keep streaming until ctx is done
	Timestamps bool
}

// InstanceRef identifies the pod an instance runs.
type InstanceRef struct {
	Namespace string
	Name      string
	UID       string
}

// RestartPolicy is the pod's restart policy.
type RestartPolicy string

// Restart policies, as in Kubernetes.
const (
	RestartAlways    RestartPolicy = "Always"
	RestartOnFailure RestartPolicy = "OnFailure"
	RestartNever     RestartPolicy = "Never"
)

// InstanceSpec is a pod translated for a backend.
type InstanceSpec struct {
	Ref                    InstanceRef
	Labels                 map[string]string
	Containers             []ContainerSpec
	RestartPolicy          RestartPolicy
	TerminationGracePeriod time.Duration
	RegistryCredentials    []RegistryCredential
}

// ContainerSpec is one container of an instance. Env is fully resolved.
type ContainerSpec struct {
	Name       string
	Image      string
	Command    []string
	Args       []string
	Env        []EnvVar
	WorkingDir string
	Ports      []Port
	Requests   ResourceList
	Limits     ResourceList
}

// EnvVar is one resolved environment variable. Secret marks values that came from a
// Secret: backends pass them as secure values and never log them.
type EnvVar struct {
	Name   string
	Value  string
	Secret bool
}

// Port is a container port.
type Port struct {
	Name          string
	ContainerPort int32
	Protocol      string // TCP or UDP
}

// ResourceList is a set of compute resources; zero means unset.
type ResourceList struct {
	MilliCPU    int64
	MemoryBytes int64
	GPU         int64
}

// RegistryCredential is an image registry login from the pod's imagePullSecrets.
type RegistryCredential struct {
	Server   string
	Username string
	Password string
}

// Resources is a backend's capacity.
type Resources struct {
	MilliCPU    int64
	MemoryBytes int64
	Pods        int64
}

// Phase is an instance's lifecycle phase, mapped by vnode to the pod phase.
type Phase string

// Instance phases.
const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseUnknown   Phase = "Unknown"
)

// InstanceStatus is what a backend reports for one instance.
type InstanceStatus struct {
	Ref        InstanceRef
	Phase      Phase
	Reason     string
	Message    string
	IP         string
	CreatedAt  time.Time
	StartedAt  time.Time
	Containers []ContainerStatus
}

// ContainerState is a container's state.
type ContainerState string

// Container states, as in Kubernetes.
const (
	ContainerWaiting    ContainerState = "Waiting"
	ContainerRunning    ContainerState = "Running"
	ContainerTerminated ContainerState = "Terminated"
)

// ContainerStatus is one container's status.
type ContainerStatus struct {
	Name         string
	State        ContainerState
	Reason       string
	Message      string
	ExitCode     int32
	StartedAt    time.Time
	FinishedAt   time.Time
	RestartCount int32
	Ready        bool
}
