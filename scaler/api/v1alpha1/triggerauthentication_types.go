package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TriggerAuthentication holds the authentication parameters of triggers in its
// namespace: each parameter comes from a Secret key, a ConfigMap key or an
// environment variable of the scale target's container.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:shortName=ta;triggerauth,categories=surge
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec lists where each parameter comes from.
	Spec TriggerAuthenticationSpec `json:"spec"`
}

// ClusterTriggerAuthentication is a cluster-scoped TriggerAuthentication. Its Secrets
// and ConfigMaps are read from surge-scaler's cluster object namespace
// (--cluster-object-namespace, like KEDA's KEDA_CLUSTER_OBJECT_NAMESPACE).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=cta;clustertriggerauth,categories=surge
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ClusterTriggerAuthentication struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec lists where each parameter comes from.
	Spec TriggerAuthenticationSpec `json:"spec"`
}

// TriggerAuthenticationSpec lists where each authentication parameter comes from.
// KEDA's other sources (Vault, cloud secret managers) are not supported; a manifest
// using them is reported as not supported rather than silently ignored.
type TriggerAuthenticationSpec struct {
	// PodIdentity is accepted for KEDA compatibility; only provider "none" is
	// supported.
	// +optional
	PodIdentity *AuthPodIdentity `json:"podIdentity,omitempty"`
	// SecretTargetRef takes parameters from Secret keys.
	// +optional
	SecretTargetRef []AuthSecretTargetRef `json:"secretTargetRef,omitempty"`
	// Env takes parameters from the scale target container's environment.
	// +optional
	Env []AuthEnvironment `json:"env,omitempty"`
	// ConfigMapTargetRef takes parameters from ConfigMap keys.
	// +optional
	ConfigMapTargetRef []AuthConfigMapTargetRef `json:"configMapTargetRef,omitempty"`
}

// AuthPodIdentity is KEDA's pod identity setting.
type AuthPodIdentity struct {
	// Provider is the identity provider; only "none" is supported.
	Provider string `json:"provider"`
}

// AuthSecretTargetRef maps a Secret key to a parameter.
type AuthSecretTargetRef struct {
	// Parameter is the trigger's parameter name.
	// +kubebuilder:validation:MinLength=1
	Parameter string `json:"parameter"`
	// Name is the Secret's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key is the key within the Secret.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// AuthConfigMapTargetRef maps a ConfigMap key to a parameter.
type AuthConfigMapTargetRef struct {
	// Parameter is the trigger's parameter name.
	// +kubebuilder:validation:MinLength=1
	Parameter string `json:"parameter"`
	// Name is the ConfigMap's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key is the key within the ConfigMap.
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// AuthEnvironment maps an environment variable of the scale target's container to a
// parameter.
type AuthEnvironment struct {
	// Parameter is the trigger's parameter name.
	// +kubebuilder:validation:MinLength=1
	Parameter string `json:"parameter"`
	// Name is the environment variable's name.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// ContainerName is the container; default: envSourceContainerName, else the first.
	// +optional
	ContainerName string `json:"containerName,omitempty"`
}

// TriggerAuthenticationList is a list of TriggerAuthentications.
//
// +kubebuilder:object:root=true
type TriggerAuthenticationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the TriggerAuthentications.
	Items []TriggerAuthentication `json:"items"`
}

// ClusterTriggerAuthenticationList is a list of ClusterTriggerAuthentications.
//
// +kubebuilder:object:root=true
type ClusterTriggerAuthenticationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	// Items are the ClusterTriggerAuthentications.
	Items []ClusterTriggerAuthentication `json:"items"`
}
