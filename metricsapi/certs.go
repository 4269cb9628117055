package metricsapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// certValidity is how long a self-generated CA and serving certificate are valid.
const certValidity = 365 * 24 * time.Hour

// servingSANs returns the DNS names and IPs a self-generated serving certificate
// carries: the Service's in-cluster names (the aggregator verifies
// <service>.<namespace>.svc), localhost and the loopback addresses, and bindIP if it
// is a specific address.
func servingSANs(service, namespace string, bindIP net.IP) ([]string, []net.IP) {
	dns := []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
		"localhost",
	}
	ips := []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	if bindIP != nil && !bindIP.IsUnspecified() && !bindIP.IsLoopback() {
		ips = append(ips, bindIP)
	}
	return dns, ips
}

// certPair is a PEM-encoded serving certificate and key, and the CA that signed it.
type certPair struct {
	CertPEM, KeyPEM, CAPEM []byte
}

// generateServingCert makes a new CA and a serving certificate it signs, valid for
// certValidity from now, with the given SANs. EC P-256 keys.
func generateServingCert(dns []string, ips []net.IP, now time.Time) (certPair, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certPair{}, fmt.Errorf("generate CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s-ca@%d", serverName, now.Unix())},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return certPair{}, fmt.Errorf("sign CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return certPair{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certPair{}, fmt.Errorf("generate serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: dns[0]},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(certValidity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dns,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return certPair{}, fmt.Errorf("sign serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return certPair{}, err
	}
	return certPair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
		CAPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return n
}

// certFiles are the paths of a pair kept in a directory.
type certFiles struct{ Cert, Key, CA string }

func pairFiles(dir, pair string) certFiles {
	return certFiles{
		Cert: filepath.Join(dir, pair+".crt"),
		Key:  filepath.Join(dir, pair+".key"),
		CA:   filepath.Join(dir, pair+"-ca.crt"),
	}
}

// loadOrGenerateCertDir reuses the pair in dir when it exists, is valid at now for at
// least another day and carries every wanted SAN; otherwise it generates a new one and
// writes it (key 0600). A restarted surge-scaler thus keeps its CA, and the
// APIService's caBundle stays valid.
func loadOrGenerateCertDir(f certFiles, dns []string, ips []net.IP, now time.Time) (certPair, bool, error) {
	if p, err := readPair(f); err == nil && pairUsable(p, dns, ips, now) {
		return p, false, nil
	}
	p, err := generateServingCert(dns, ips, now)
	if err != nil {
		return certPair{}, false, err
	}
	if err := os.MkdirAll(filepath.Dir(f.Cert), 0o755); err != nil {
		return certPair{}, false, fmt.Errorf("create cert dir: %w", err)
	}
	for _, w := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{f.CA, p.CAPEM, 0o644}, {f.Key, p.KeyPEM, 0o600}, {f.Cert, p.CertPEM, 0o644}} {
		if err := writeFileAtomic(w.path, w.data, w.mode); err != nil {
			return certPair{}, false, err
		}
	}
	return p, true, nil
}

func readPair(f certFiles) (certPair, error) {
	var p certPair
	var err error
	if p.CertPEM, err = os.ReadFile(f.Cert); err != nil {
		return p, err
	}
	if p.KeyPEM, err = os.ReadFile(f.Key); err != nil {
		return p, err
	}
	if p.CAPEM, err = os.ReadFile(f.CA); err != nil {
		return p, err
	}
	return p, nil
}

// pairUsable reports whether p's leaf is signed by p's CA, valid for another day and
// covers every wanted SAN.
func pairUsable(p certPair, dns []string, ips []net.IP, now time.Time) bool {
	leaf, err := firstCert(p.CertPEM)
	if err != nil {
		return false
	}
	ca, err := firstCert(p.CAPEM)
	if err != nil || leaf.CheckSignatureFrom(ca) != nil {
		return false
	}
	if now.Before(leaf.NotBefore) || now.Add(24*time.Hour).After(leaf.NotAfter) {
		return false
	}
	for _, d := range dns {
		if !slices.Contains(leaf.DNSNames, d) {
			return false
		}
	}
	for _, ip := range ips {
		if !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
			return false
		}
	}
	return true
}

func firstCert(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", tmp, err)
	}
	return nil
}
