package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// keyPair is a certificate with its private key, kept in memory to sign others.
type keyPair struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// pkiPaths names every file the control plane's PKI writes under DIR/pki.
type pkiPaths struct {
	CACert, CAKey                               string
	FrontProxyCACert, FrontProxyCAKey           string
	FrontProxyClientCert, FrontProxyClientKey   string
	ServingCert, ServingKey                     string
	AdminCert, AdminKey                         string
	ControllerManagerCert, ControllerManagerKey string
	SchedulerCert, SchedulerKey                 string
	ServiceAccountKey, ServiceAccountPub        string
}

// certValidity is long enough for any test or demo run and short enough to be honest.
const certValidity = 7 * 24 * time.Hour

// generatePKI writes a cluster CA, a front-proxy CA and every certificate the
// components need, all EC P-256, into dir.
func generatePKI(dir string) (*pkiPaths, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p := func(n string) string { return filepath.Join(dir, n) }
	paths := &pkiPaths{
		CACert: p("ca.crt"), CAKey: p("ca.key"),
		FrontProxyCACert: p("front-proxy-ca.crt"), FrontProxyCAKey: p("front-proxy-ca.key"),
		FrontProxyClientCert: p("front-proxy-client.crt"), FrontProxyClientKey: p("front-proxy-client.key"),
		ServingCert: p("apiserver.crt"), ServingKey: p("apiserver.key"),
		AdminCert: p("admin.crt"), AdminKey: p("admin.key"),
		ControllerManagerCert: p("controller-manager.crt"), ControllerManagerKey: p("controller-manager.key"),
		SchedulerCert: p("scheduler.crt"), SchedulerKey: p("scheduler.key"),
		ServiceAccountKey: p("sa.key"), ServiceAccountPub: p("sa.pub"),
	}
	ca, err := newCA("surge-controlplane-ca")
	if err != nil {
		return nil, err
	}
	fpCA, err := newCA("surge-controlplane-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	type leaf struct {
		signer      *keyPair
		cn          string
		orgs        []string
		server      bool
		certF, keyF string
	}
	leaves := []leaf{
		{ca, "kube-apiserver", nil, true, paths.ServingCert, paths.ServingKey},
		{ca, "surge-admin", []string{"system:masters"}, false, paths.AdminCert, paths.AdminKey},
		{ca, "system:kube-controller-manager", nil, false, paths.ControllerManagerCert, paths.ControllerManagerKey},
		{ca, "system:kube-scheduler", nil, false, paths.SchedulerCert, paths.SchedulerKey},
		{fpCA, "front-proxy-client", nil, false, paths.FrontProxyClientCert, paths.FrontProxyClientKey},
	}
	for _, l := range leaves {
		kp, err := newLeaf(l.signer, l.cn, l.orgs, l.server)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", l.cn, err)
		}
		if err := writeKeyPair(kp, l.certF, l.keyF); err != nil {
			return nil, err
		}
	}
	if err := writeKeyPair(ca, paths.CACert, paths.CAKey); err != nil {
		return nil, err
	}
	if err := writeKeyPair(fpCA, paths.FrontProxyCACert, paths.FrontProxyCAKey); err != nil {
		return nil, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := writeKey(saKey, paths.ServiceAccountKey); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(paths.ServiceAccountPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o600); err != nil {
		return nil, err
	}
	return paths, nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
}

func newCA(cn string) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

// newLeaf signs a client certificate (server=false) or the apiserver's serving
// certificate, whose SANs cover every name in-cluster clients and the tests use.
func newLeaf(ca *keyPair, cn string, orgs []string, server bool) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	sn, err := serial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{CommonName: cn, Organization: orgs},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &keyPair{cert: cert, key: key}, nil
}

func writeKeyPair(kp *keyPair, certFile, keyFile string) error {
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: kp.cert.Raw}), 0o600); err != nil {
		return err
	}
	return writeKey(kp.key, keyFile)
}

func writeKey(key *ecdsa.PrivateKey, file string) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}
