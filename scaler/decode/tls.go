package decode

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// TLSConfig builds a client tls.Config from TriggerAuthentication PEM values: ca (a
// CA bundle to trust instead of the system roots), cert and key (a client
// certificate, both or neither), keyPassword (decrypts a legacy encrypted PEM key)
// and insecure (skip server verification: KEDA's unsafeSsl). Errors name the
// parameter and never include PEM content.
func TLSConfig(ca, cert, key, keyPassword string, insecure bool) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: insecure} //nolint:gosec // unsafeSsl is the user's explicit choice
	if ca != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(ca)) {
			return nil, Invalid("ca", "", "holds no PEM certificate", "a PEM-encoded CA certificate bundle")
		}
		c.RootCAs = pool
	}
	if (cert == "") != (key == "") {
		return nil, Invalid("cert", "", "cert and key must be given together", "both cert and key, or neither")
	}
	if cert == "" {
		return c, nil
	}
	keyPEM := []byte(key)
	if keyPassword != "" {
		var err error
		if keyPEM, err = decryptKey(keyPEM, keyPassword); err != nil {
			return nil, err
		}
	}
	pair, err := tls.X509KeyPair([]byte(cert), keyPEM)
	if err != nil {
		return nil, Invalid("key", "", "cert and key do not form a usable key pair", "a PEM certificate and its matching PEM private key")
	}
	c.Certificates = []tls.Certificate{pair}
	return c, nil
}

// decryptKey decrypts a legacy (RFC 1423) encrypted PEM key with password.
func decryptKey(keyPEM []byte, password string) ([]byte, error) {
	block, _ := pem.Decode(keyPEM)
	if block == nil {
		return nil, Invalid("key", "", "holds no PEM block", "a PEM-encoded private key")
	}
	//nolint:staticcheck // legacy PEM encryption is what keyPassword means in KEDA
	if !x509.IsEncryptedPEMBlock(block) {
		if block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, Unsupported("keyPassword", "", "encrypted PKCS#8 keys (decrypt the key, or use a legacy encrypted PEM key)")
		}
		return keyPEM, nil // not encrypted: the password is not needed
	}
	//nolint:staticcheck // see above
	der, err := x509.DecryptPEMBlock(block, []byte(password))
	if err != nil {
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, Invalid("keyPassword", "", "does not decrypt key", "the key's password")
		}
		return nil, Invalid("keyPassword", "", fmt.Sprintf("cannot decrypt key: %v", err), "the key's password")
	}
	return pem.EncodeToMemory(&pem.Block{Type: block.Type, Bytes: der}), nil
}
