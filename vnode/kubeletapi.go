package vnode

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"

	"github.com/surge-autoscaler/surge/providers"
)

// APIConfig configures the kubelet HTTPS API that the API server calls for
// `kubectl logs`.
type APIConfig struct {
	// Addr is the listen address; default 127.0.0.1:0 (a free port, reported in
	// the node's kubelet endpoint).
	Addr string
	// CertFile and KeyFile are the serving certificate; empty: a self-signed one
	// for the node's IP and name (the API server does not verify kubelet
	// certificates unless --kubelet-certificate-authority is set).
	CertFile, KeyFile string
	// ClientCAFile, if set, makes the API require client certificates signed by
	// it: the API server's --kubelet-client-certificate.
	ClientCAFile string
	// AllowAnonymous lets requests without a verified client certificate through.
	// Without it and without ClientCAFile every request but /healthz is refused.
	AllowAnonymous bool
}

// KubeletAPI serves the kubelet endpoints a virtual node can honour:
// GET /containerLogs/{namespace}/{pod}/{container} (tailLines, follow,
// limitBytes), GET /pods and GET /healthz. exec, attach, port-forward and
// previous logs answer 501 Not Implemented with a message. It is written on
// net/http rather than virtual-kubelet's node/api, which would bring gorilla/mux,
// OpenCensus and SPDY streaming for endpoints no backend here implements.
type KubeletAPI struct {
	h      *Handler
	logs   providers.LogReader // nil if the backend has none
	cfg    APIConfig
	ln     net.Listener
	srv    *http.Server
	log    logr.Logger
	nodeIP string
}

// NewKubeletAPI listens on cfg.Addr with TLS; Serve serves.
func NewKubeletAPI(cfg APIConfig, h *Handler, backend providers.Backend, nodeName, nodeIP string, log logr.Logger) (*KubeletAPI, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	tlsCfg, err := serverTLS(cfg, nodeName, nodeIP)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("kubelet API: listen: %w", err)
	}
	a := &KubeletAPI{h: h, cfg: cfg, ln: tls.NewListener(ln, tlsCfg), log: log, nodeIP: nodeIP}
	a.logs, _ = backend.(providers.LogReader)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	mux.Handle("GET /containerLogs/{namespace}/{pod}/{container}", a.auth(http.HandlerFunc(a.containerLogs)))
	mux.Handle("GET /pods", a.auth(http.HandlerFunc(a.pods)))
	for _, p := range []string{"/exec/", "/attach/", "/portForward/", "/run/", "/cri/"} {
		mux.Handle(p, a.auth(http.HandlerFunc(notImplemented)))
	}
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	return a, nil
}

// Port returns the port the API listens on.
func (a *KubeletAPI) Port() int { return a.ln.Addr().(*net.TCPAddr).Port }

// Serve serves until ctx ends, then shuts down.
func (a *KubeletAPI) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- a.srv.Serve(a.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("kubelet API: %w", err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.srv.Shutdown(sctx)
		<-errc
		return nil
	}
}

func (a *KubeletAPI) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		verified := r.TLS != nil && len(r.TLS.VerifiedChains) > 0
		if !verified && !a.cfg.AllowAnonymous {
			http.Error(w, "Unauthorized: a client certificate signed by the kubelet client CA is required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func notImplemented(w http.ResponseWriter, r *http.Request) {
	http.Error(w, fmt.Sprintf("%s is not supported by surge-vnode: its backends cannot exec into, attach to or forward ports of instances", r.URL.Path),
		http.StatusNotImplemented)
}

// LogQuery is a decoded containerLogs query.
type LogQuery struct {
	providers.LogOptions
	LimitBytes int64
}

// ParseLogQuery decodes the query of a containerLogs request as the kubelet
// does, refusing what the virtual node cannot honour with a message saying so.
func ParseLogQuery(q url.Values) (LogQuery, error) {
	var out LogQuery
	boolean := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%q is not a boolean", name, v)
		}
		return b, nil
	}
	var err error
	if out.Follow, err = boolean("follow"); err != nil {
		return out, err
	}
	if out.Timestamps, err = boolean("timestamps"); err != nil {
		return out, err
	}
	if prev, err := boolean("previous"); err != nil || prev {
		if err != nil {
			return out, err
		}
		return out, errors.New("previous=true is not supported: the virtual node keeps one log per container across restarts")
	}
	if v := q.Get("tailLines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return out, fmt.Errorf("tailLines=%q is not a non-negative integer", v)
		}
		out.Tail = n
	}
	if v := q.Get("limitBytes"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return out, fmt.Errorf("limitBytes=%q is not a positive integer", v)
		}
		out.LimitBytes = n
	}
	for _, unsupported := range []string{"sinceSeconds", "sinceTime"} {
		if q.Get(unsupported) != "" {
			return out, fmt.Errorf("%s is not supported: log lines carry no timestamps", unsupported)
		}
	}
	return out, nil
}

func (a *KubeletAPI) containerLogs(w http.ResponseWriter, r *http.Request) {
	ns, name, container := r.PathValue("namespace"), r.PathValue("pod"), r.PathValue("container")
	q, err := ParseLogQuery(r.URL.Query())
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if a.logs == nil {
		http.Error(w, "this backend does not provide logs", http.StatusNotImplemented)
		return
	}
	uid, ok := a.h.uidOf(ns, name)
	if !ok {
		http.Error(w, fmt.Sprintf("pod %s/%s is not on this node", ns, name), http.StatusNotFound)
		return
	}
	rc, err := a.logs.Logs(r.Context(), providers.InstanceRef{Namespace: ns, Name: name, UID: uid}, container, q.LogOptions)
	if err != nil {
		code := http.StatusInternalServerError
		if providers.IsNotFound(err) {
			code = http.StatusNotFound
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer rc.Close()
	var src io.Reader = rc
	if q.LimitBytes > 0 {
		src = io.LimitReader(rc, q.LimitBytes)
	}
	w.Header().Set("Content-Type", "text/plain")
	if err := copyFlushing(w, src); err != nil && r.Context().Err() == nil {
		a.log.V(1).Info("log stream ended with an error", "pod", key(ns, name), "container", container, "err", err.Error())
	}
}

// copyFlushing copies src to w, flushing after every read so followed logs
// arrive as they are written.
func copyFlushing(w http.ResponseWriter, src io.Reader) error {
	f, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if f != nil {
				f.Flush()
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (a *KubeletAPI) pods(w http.ResponseWriter, r *http.Request) {
	pods, _ := a.h.GetPods(r.Context())
	list := corev1.PodList{}
	list.APIVersion, list.Kind = "v1", "PodList"
	for _, p := range pods {
		list.Items = append(list.Items, *p)
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(&list)
}

// serverTLS builds the serving TLS config: the given certificate or a
// self-signed one, and client certificate verification if a CA is given.
func serverTLS(cfg APIConfig, nodeName, nodeIP string) (*tls.Config, error) {
	var cert tls.Certificate
	var err error
	if cfg.CertFile != "" || cfg.KeyFile != "" {
		cert, err = tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
	} else {
		cert, err = selfSigned(nodeName, nodeIP)
	}
	if err != nil {
		return nil, fmt.Errorf("kubelet API: serving certificate: %w", err)
	}
	t := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.ClientCAFile != "" {
		pem, err := os.ReadFile(cfg.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("kubelet API: client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("kubelet API: client CA file holds no PEM certificate")
		}
		t.ClientCAs = pool
		t.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return t, nil
}

func selfSigned(name, ip string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Minute),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{name},
	}
	if parsed := net.ParseIP(ip); parsed != nil {
		tmpl.IPAddresses = []net.IP{parsed}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
