package metricsapi

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/go-logr/logr"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	"k8s.io/klog/v2"
	openapicommon "k8s.io/kube-openapi/pkg/common"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/apiserver"
	generatedcore "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/core"
	generatedexternal "sigs.k8s.io/custom-metrics-apiserver/pkg/generated/openapi/externalmetrics"
)

// Server is the external metrics API server. It is a Runnable: Start serves until its
// context is done.
type Server struct {
	generic  *genericapiserver.GenericAPIServer
	provider *Provider
	log      logr.Logger
	addr     net.Addr
	caBundle []byte
}

// NewServer builds the server from o, serving src. It binds the listening socket, so
// Addr is known on return, and it reads the delegated authentication configuration
// (client CA, front-proxy CA) from the kube-apiserver. It does not serve until Start.
func (o *Options) NewServer(src MetricSource, log logr.Logger) (*Server, error) {
	if src == nil {
		return nil, errors.New("metricsapi: nil MetricSource")
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("metricsapi options: %w", err)
	}
	a := o.Adapter
	if o.Kubeconfig != "" {
		if a.Authentication != nil && a.Authentication.RemoteKubeConfigFile == "" {
			a.Authentication.RemoteKubeConfigFile = o.Kubeconfig
		}
		if a.Authorization != nil && a.Authorization.RemoteKubeConfigFile == "" {
			a.Authorization.RemoteKubeConfigFile = o.Kubeconfig
		}
	}
	caBundle, err := o.ensureServingCert(log)
	if err != nil {
		return nil, err
	}
	p := NewProvider(src, log, WithClock(o.Clock), WithRefreshTimeout(o.RefreshTimeout), WithListMetricNames(o.ListMetricNames))

	cfg, err := o.genericConfig()
	if err != nil {
		return nil, err
	}
	srv, err := (&apiserver.Config{GenericConfig: &cfg.Config}).Complete(nil).New(serverName, nil, p)
	if err != nil {
		return nil, fmt.Errorf("metricsapi server: %w", err)
	}
	s := &Server{generic: srv.GenericAPIServer, provider: p, log: log, caBundle: caBundle}
	if cfg.SecureServing != nil && cfg.SecureServing.Listener != nil {
		s.addr = cfg.SecureServing.Listener.Addr()
	}
	return s, nil
}

// genericConfig applies the adapter's serving, delegated authentication and
// authorisation, audit and feature options to a recommended generic API server
// configuration, with the OpenAPI definitions of the external metrics API.
func (o *Options) genericConfig() (*genericapiserver.RecommendedConfig, error) {
	a := o.Adapter
	cfg := genericapiserver.NewRecommendedConfig(apiserver.Codecs)
	if err := a.SecureServing.ApplyToConfig(&cfg.Config); err != nil {
		return nil, fmt.Errorf("metricsapi secure serving: %w", err)
	}
	if err := a.Authentication.ApplyTo(&cfg.Authentication, cfg.SecureServing, nil); err != nil {
		return nil, fmt.Errorf("metricsapi delegated authentication: %w", err)
	}
	if err := a.Authorization.ApplyTo(&cfg.Authorization); err != nil {
		return nil, fmt.Errorf("metricsapi delegated authorization: %w", err)
	}
	if err := a.Audit.ApplyTo(&cfg.Config); err != nil {
		return nil, fmt.Errorf("metricsapi audit: %w", err)
	}
	if err := a.Features.ApplyTo(&cfg.Config, nil, nil); err != nil {
		return nil, fmt.Errorf("metricsapi features: %w", err)
	}
	defs := func(ref openapicommon.ReferenceCallback) map[string]openapicommon.OpenAPIDefinition {
		out := generatedcore.GetOpenAPIDefinitions(ref)
		for k, v := range generatedexternal.GetOpenAPIDefinitions(ref) {
			out[k] = v
		}
		return out
	}
	namer := openapinamer.NewDefinitionNamer(apiserver.Scheme)
	cfg.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(defs, namer)
	cfg.OpenAPIConfig.Info.Title, cfg.OpenAPIConfig.Info.Version = serverName, "1.0.0"
	cfg.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(defs, namer)
	cfg.OpenAPIV3Config.Info.Title, cfg.OpenAPIV3Config.Info.Version = serverName, "1.0.0"
	cfg.EnableMetrics = a.EnableMetrics
	return cfg, nil
}

// ensureServingCert fills in the serving certificate when no --tls-cert-file is
// given: the pair in --cert-dir (reused or generated there), else a pair generated in
// memory. It returns the CA bundle of a generated pair, nil for user-provided files.
func (o *Options) ensureServingCert(log logr.Logger) ([]byte, error) {
	ss := o.Adapter.SecureServing
	if ss == nil || (ss.BindPort == 0 && ss.Listener == nil) {
		return nil, nil
	}
	ck := &ss.ServerCert.CertKey
	if ck.CertFile != "" || ck.KeyFile != "" {
		return nil, nil
	}
	dns, ips := servingSANs(o.ServiceName, o.ServiceNamespace, ss.BindAddress)
	now := o.Clock.Now()
	if dir := ss.ServerCert.CertDirectory; dir != "" {
		pair := ss.ServerCert.PairName
		if pair == "" {
			pair = "apiserver"
		}
		files := pairFiles(dir, pair)
		p, generated, err := loadOrGenerateCertDir(files, dns, ips, now)
		if err != nil {
			return nil, fmt.Errorf("metricsapi serving certificate: %w", err)
		}
		ck.CertFile, ck.KeyFile = files.Cert, files.Key
		log.Info("Serving certificate", "cert", files.Cert, "ca", files.CA, "generated", generated, "dnsNames", dns)
		return p.CAPEM, nil
	}
	p, err := generateServingCert(dns, ips, now)
	if err != nil {
		return nil, fmt.Errorf("metricsapi serving certificate: %w", err)
	}
	gen, err := dynamiccertificates.NewStaticCertKeyContent("surge-metrics-api self-signed", p.CertPEM, p.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("metricsapi serving certificate: %w", err)
	}
	ss.ServerCert.GeneratedCert = gen
	log.Info("Serving certificate generated in memory", "dnsNames", dns)
	return p.CAPEM, nil
}

// Start serves until ctx is done, then shuts down gracefully. It may be called once.
func (s *Server) Start(ctx context.Context) error {
	s.log.Info("Serving external metrics API", "addr", s.Addr())
	ctx = klog.NewContext(ctx, s.log)
	if err := s.generic.PrepareRun().RunWithContext(ctx); err != nil {
		return fmt.Errorf("metricsapi: %w", err)
	}
	return nil
}

// Addr is the address the server listens on (nil if it does not serve HTTPS).
func (s *Server) Addr() net.Addr { return s.addr }

// Port is the port the server listens on, 0 if unknown.
func (s *Server) Port() int {
	if a, ok := s.addr.(*net.TCPAddr); ok {
		return a.Port
	}
	return 0
}

// CABundle is the PEM CA certificate that signed a self-generated serving
// certificate, for the APIService's caBundle; nil when the certificate came from
// --tls-cert-file.
func (s *Server) CABundle() []byte { return s.caBundle }

// Provider is the server's provider (for benchmarks and tests that call it directly).
func (s *Server) Provider() *Provider { return s.provider }
