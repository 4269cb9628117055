package charts_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// nested returns the value at path in obj, failing the test if it is absent.
func nested(t testing.TB, obj map[string]any, path ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(obj, path...)
	if err != nil || !ok {
		t.Fatalf("field %v absent (err %v)", path, err)
	}
	return v
}

// container returns the container named name of a workload's pod template.
func container(t testing.TB, o *unstructured.Unstructured, name string) map[string]any {
	t.Helper()
	cs := nested(t, o.Object, "spec", "template", "spec", "containers").([]any)
	for _, c := range cs {
		m := c.(map[string]any)
		if m["name"] == name {
			return m
		}
	}
	t.Fatalf("%s/%s has no container %s", o.GetKind(), o.GetName(), name)
	return nil
}

// stringsOf converts a []any of strings.
func stringsOf(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// verifyServing checks that the base64 PEM pair is a serving certificate for host
// that chains to the base64 PEM CA.
func verifyServing(t testing.TB, caB64, crtB64, keyB64, host string) {
	t.Helper()
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64: %v", err)
		}
		return b
	}
	pair, err := tls.X509KeyPair(dec(crtB64), dec(keyB64))
	if err != nil {
		t.Fatalf("serving pair: %v", err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(dec(caB64)) {
		t.Fatal("caBundle holds no PEM certificate")
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		t.Fatalf("serving certificate does not verify for %s: %v", host, err)
	}
}
