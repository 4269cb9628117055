package harness

import (
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountUser returns the user name Kubernetes gives ServiceAccount
// namespace/name and the groups it belongs to.
func ServiceAccountUser(namespace, name string) (user string, groups []string) {
	return "system:serviceaccount:" + namespace + ":" + name,
		[]string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
}

// ServiceAccountConfig returns a rest.Config that authenticates as the cluster admin
// and impersonates ServiceAccount namespace/name with its groups, so every request
// is authorised exactly as the ServiceAccount's (no token needed).
func (c *Cluster) ServiceAccountConfig(namespace, name string) *rest.Config {
	cfg := rest.CopyConfig(c.Config)
	user, groups := ServiceAccountUser(namespace, name)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	return cfg
}

// ServiceAccountKubeconfig writes to path a kubeconfig with the identity of
// ServiceAccountConfig, for a binary run as the ServiceAccount (--kubeconfig).
func (c *Cluster) ServiceAccountKubeconfig(path, namespace, name string) error {
	user, groups := ServiceAccountUser(namespace, name)
	return c.writeKubeconfig(path, &clientcmdapi.AuthInfo{
		ClientCertificate: c.Info.AdminCert, ClientKey: c.Info.AdminKey,
		Impersonate: user, ImpersonateGroups: groups,
	})
}

// UserKubeconfig writes to path a kubeconfig that authenticates as user with groups
// through a client certificate signed by the cluster CA (e.g. system:node:NAME in
// system:nodes, for the node authorizer).
func (c *Cluster) UserKubeconfig(path, user string, groups ...string) error {
	certPEM, keyPEM, err := c.SignClientCert(user, groups...)
	if err != nil {
		return err
	}
	return c.writeKubeconfig(path, &clientcmdapi.AuthInfo{ClientCertificateData: certPEM, ClientKeyData: keyPEM})
}

// writeKubeconfig writes a kubeconfig for the cluster's API server with auth, every
// certificate embedded (see loadAdmin).
func (c *Cluster) writeKubeconfig(path string, auth *clientcmdapi.AuthInfo) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["surge"] = &clientcmdapi.Cluster{Server: c.Info.Server, CertificateAuthority: c.Info.CACert}
	cfg.AuthInfos["user"] = auth
	cfg.Contexts["surge"] = &clientcmdapi.Context{Cluster: "surge", AuthInfo: "user"}
	cfg.CurrentContext = "surge"
	if err := clientcmdapi.FlattenConfig(cfg); err != nil {
		return err
	}
	return clientcmd.WriteToFile(*cfg, path)
}
