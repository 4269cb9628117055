package kafka

import "github.com/surge-autoscaler/surge/test/harness/brokers"

// testPKI is a throwaway CA with server and client certificates.
var testPKI = func() *brokers.PKI {
	p, err := brokers.NewPKI()
	if err != nil {
		panic(err)
	}
	return p
}()

// testCA, testCert and testKey are the CA and the client pair, PEM.
var testCA, testCert, testKey = testPKI.CA, testPKI.ClientCert, testPKI.ClientKey
