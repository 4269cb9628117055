// Package aci is the Azure Container Instances backend for surge-vnode: every pod
// becomes one ACI container group, created and observed through the official Azure
// SDK (armcontainerinstance/v2) and authenticated with azidentity's
// DefaultAzureCredential (workload identity, managed identity or environment).
//
// The package is split the way the rest of providers/ is:
//
//   - translate.go turns a providers.InstanceSpec into an armcontainerinstance
//     ContainerGroup (pure, table-tested); features ACI cannot express are refused
//     with a providers Unsupported error that names the field.
//   - status.go turns a ContainerGroup back into a providers.InstanceStatus (pure).
//   - names.go holds the deterministic, ACI-valid group names and the tags that
//     carry the pod's namespace, name and UID so List can re-adopt groups.
//   - errors.go classifies ARM errors into the providers error kinds; backoff.go is
//     our own back-off on top of the SDK's retry policy.
//   - backend.go, list.go, lro.go and logs.go make the API calls.
//
// This backend is tested against the Azure SDK's own fake server
// (armcontainerinstance/fake driven by the simulated ACI in package acifake), never
// against Azure itself; see README.md.
package aci
