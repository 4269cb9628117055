package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// writeKubeconfig writes a kubeconfig that authenticates with a client certificate.
func writeKubeconfig(file, server, user, caFile, certFile, keyFile string) error {
	s := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: surge
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %q
  user:
    client-certificate: %s
    client-key: %s
contexts:
- name: surge
  context:
    cluster: surge
    user: %q
current-context: surge
`, server, caFile, user, certFile, keyFile, user)
	return os.WriteFile(file, []byte(s), 0o600)
}

// adminTLS is the client TLS config "up" itself uses to poll the apiserver.
func adminTLS(p *pkiPaths) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(p.AdminCert, p.AdminKey)
	if err != nil {
		return nil, err
	}
	ca, err := os.ReadFile(p.CACert)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		return nil, fmt.Errorf("no certificate in %s", p.CACert)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool}, nil
}
