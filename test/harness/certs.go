package harness

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"time"

	"k8s.io/client-go/rest"
)

// ClientConfig returns a rest.Config that authenticates as user with groups through
// a client certificate signed by the cluster CA, for RBAC tests.
func (c *Cluster) ClientConfig(user string, groups ...string) (*rest.Config, error) {
	certPEM, keyPEM, err := c.SignClientCert(user, groups...)
	if err != nil {
		return nil, err
	}
	cfg := rest.AnonymousClientConfig(c.Config)
	cfg.CertData, cfg.KeyData = certPEM, keyPEM
	return cfg, nil
}

// SignClientCert issues a client certificate (PEM) for user with groups, signed by
// the cluster CA and valid for a day.
func (c *Cluster) SignClientCert(user string, groups ...string) (certPEM, keyPEM []byte, err error) {
	caCert, caKey, err := loadCA(c.Info.CACert, c.Info.CAKey)
	if err != nil {
		return nil, nil, err
	}
	return signCert(caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	})
}

// SignServingCert issues a serving certificate (PEM) for dnsNames and 127.0.0.1,
// signed by the cluster CA, e.g. for a local APIService reached through the
// aggregator (which checks the name <service>.<namespace>.svc).
func (c *Cluster) SignServingCert(dnsNames ...string) (certPEM, keyPEM []byte, err error) {
	caCert, caKey, err := loadCA(c.Info.CACert, c.Info.CAKey)
	if err != nil {
		return nil, nil, err
	}
	return signCert(caCert, caKey, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "surge-serving"},
		DNSNames:    dnsNames,
		IPAddresses: loopbackIPs(),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
}

// CABundle returns the cluster CA certificate (PEM), e.g. for an APIService caBundle.
func (c *Cluster) CABundle() ([]byte, error) { return os.ReadFile(c.Info.CACert) }

func loadCA(certFile, keyFile string) (*x509.Certificate, any, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("load cluster CA: %w", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	return cert, pair.PrivateKey, nil
}

func signCert(ca *x509.Certificate, caKey any, tmpl *x509.Certificate) ([]byte, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	sn, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = sn
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}
