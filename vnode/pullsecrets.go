package vnode

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/providers"
)

// dockerAuth is one registry entry of a Docker config.
type dockerAuth struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Auth     string `json:"auth"`
}

// ParseDockerConfig decodes the registry logins of an image pull Secret: type
// kubernetes.io/dockerconfigjson ({"auths": {server: {...}}}) or the legacy
// kubernetes.io/dockercfg ({server: {...}}). An entry's "auth" (base64 of
// user:password) fills a missing username or password. Errors never quote the
// Secret's content.
func ParseDockerConfig(secretType corev1.SecretType, data map[string][]byte) ([]providers.RegistryCredential, error) {
	var auths map[string]dockerAuth
	switch secretType {
	case corev1.SecretTypeDockerConfigJson:
		var cfg struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(data[corev1.DockerConfigJsonKey], &cfg); err != nil {
			return nil, errors.New("malformed .dockerconfigjson")
		}
		auths = cfg.Auths
	case corev1.SecretTypeDockercfg:
		if err := json.Unmarshal(data[corev1.DockerConfigKey], &auths); err != nil {
			return nil, errors.New("malformed .dockercfg")
		}
	default:
		return nil, fmt.Errorf("secret type %q is not an image pull secret", secretType)
	}
	servers := make([]string, 0, len(auths))
	for s := range auths {
		servers = append(servers, s)
	}
	sort.Strings(servers)
	out := make([]providers.RegistryCredential, 0, len(servers))
	for _, server := range servers {
		a := auths[server]
		if a.Auth != "" && (a.Username == "" || a.Password == "") {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("registry %s: malformed auth", server)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("registry %s: malformed auth", server)
			}
			a.Username, a.Password = user, pass
		}
		out = append(out, providers.RegistryCredential{Server: server, Username: a.Username, Password: a.Password})
	}
	return out, nil
}

// PullSecrets reads a pod's imagePullSecrets. Missing or malformed Secrets are
// skipped, as the kubelet does, and reported in warnings for an event.
func PullSecrets(ctx context.Context, pod *corev1.Pod, get ObjectGetter) (creds []providers.RegistryCredential, warnings []string) {
	for _, ref := range pod.Spec.ImagePullSecrets {
		s, err := get.Secret(ctx, pod.Namespace, ref.Name)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("image pull secret %q: %v", ref.Name, err))
			continue
		}
		c, err := ParseDockerConfig(s.Type, s.Data)
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("image pull secret %q: %v", ref.Name, err))
			continue
		}
		creds = append(creds, c...)
	}
	return creds, warnings
}
