package prometheus

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

type m = map[string]string

func TestConfigTags(t *testing.T) {
	if err := decode.Check(&Config{}); err != nil {
		t.Fatal(err)
	}
}

const q = `sum(rate(http_requests_total{deployment="my-deployment"}[2m]))`

// kedaDocExamples restate the trigger blocks of KEDA 2.21's Prometheus page.
var kedaDocExamples = []struct {
	name        string
	meta, auth  m
	unsupported string
}{
	{name: "trigger specification", meta: m{"serverAddress": "http://prometheus-host:9090", "query": q, "threshold": "100.50",
		"activationThreshold": "5.5", "namespace": "example-namespace", "customHeaders": "X-Client-Id=cid,X-Tenant-Id=tid,X-Organization-Id=oid",
		"ignoreNullValues": "false", "queryParameters": "key-1=value-1,key-2=value-2", "unsafeSsl": "false", "timeout": "1000"}},
	{name: "minimal", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q}},
	{name: "bearer", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q, "authModes": "bearer"},
		auth: m{"bearerToken": "BEARER_TOKEN", "ca": testCA}},
	{name: "basic", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q, "authModes": "basic"},
		auth: m{"username": "username", "password": "password"}},
	{name: "tls", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q, "authModes": "tls"},
		auth: m{"cert": testCert, "key": testKey, "ca": testCA}},
	{name: "tls and basic", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q, "authModes": "tls,basic"},
		auth: m{"cert": testCert, "key": testKey, "ca": testCA, "username": "username", "password": "password"}},
	{name: "custom", meta: m{"serverAddress": "http://prometheus-host:9090", "threshold": "100", "query": q, "authModes": "custom"},
		auth: m{"customAuthHeader": "X-AUTH-TOKEN", "customAuthValue": "auth-token"}},
	{name: "azure managed prometheus (identity is the controller's business)", meta: m{
		"serverAddress": "https://test-azure-monitor-workspace-name-9ksc.eastus.prometheus.monitor.azure.com", "query": q,
		"threshold": "100.50", "activationThreshold": "5.5"}},
	{name: "amazon managed prometheus", meta: m{"awsRegion": "us-east-1", "serverAddress": "https://aps-workspaces.us-east-1.amazonaws.com/workspaces/ws-1",
		"query": "vector(100)", "threshold": "50.0", "identityOwner": "operator"}, unsupported: "awsRegion"},
	{name: "google managed prometheus", meta: m{"serverAddress": "https://monitoring.googleapis.com/v1/projects/my-google-project/location/global/prometheus",
		"query": q, "threshold": "50.0"}},
}

func TestKEDADocExamples(t *testing.T) {
	for _, tc := range kedaDocExamples {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			_, err := decode.Decode(trigger.Spec{Type: Type, Name: "t", Metadata: tc.meta, AuthParams: tc.auth}, &c)
			if tc.unsupported != "" {
				if err == nil || !strings.Contains(err.Error(), `key "`+tc.unsupported+`"`) || !strings.Contains(err.Error(), "not supported by surge") {
					t.Fatalf("err = %v, want unsupported %q", err, tc.unsupported)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestConfigRules(t *testing.T) {
	base := func(extra m) m {
		out := m{"serverAddress": "http://p:9090", "query": "up", "threshold": "5"}
		for k, v := range extra {
			out[k] = v
		}
		return out
	}
	cases := []struct {
		name    string
		meta    m
		auth    m
		check   func(*testing.T, *Config)
		wantErr string
	}{
		{name: "defaults", meta: base(nil), check: func(t *testing.T, c *Config) {
			if !c.IgnoreNullValues || c.ActivationThreshold != 0 || c.tlsConfig != nil {
				t.Errorf("%+v", c)
			}
		}},
		{name: "maps and timeout", meta: base(m{"customHeaders": "A=1,B=2", "queryParameters": "x=y", "timeout": "2s"}), check: func(t *testing.T, c *Config) {
			if c.CustomHeaders["B"] != "2" || c.QueryParameters["x"] != "y" || c.Timeout != 2*time.Second {
				t.Errorf("%+v", c)
			}
		}},
		{name: "authModes from auth, token alias", meta: base(nil), auth: m{"authModes": "bearer", "token": "tok"}, check: func(t *testing.T, c *Config) {
			if !c.has("bearer") || c.BearerToken != "tok" {
				t.Errorf("%+v", c)
			}
		}},
		{name: "missing threshold", meta: m{"serverAddress": "http://p", "query": "up"}, wantErr: `key "threshold": is required`},
		{name: "zero threshold", meta: base(m{"threshold": "0"}), wantErr: `key "threshold": value "0": out of range`},
		{name: "bad address", meta: base(m{"serverAddress": "p:9090"}), wantErr: `key "serverAddress": value "p:9090": is not an http(s) URL`},
		{name: "address credentials not printed", meta: base(m{"serverAddress": "ftp://u:pw123@p"}), wantErr: `value "ftp://<redacted>@p"`},
		{name: "unknown mode", meta: base(m{"authModes": "kerberos"}), wantErr: `key "authModes": value "kerberos": is not an authentication mode`},
		{name: "oauth unsupported", meta: base(m{"authModes": "oauth"}), wantErr: "not supported by surge: the oauth mode"},
		{name: "bearer and basic", meta: base(m{"authModes": "bearer,basic"}), auth: m{"bearerToken": "t", "username": "u"}, wantErr: "bearer and basic cannot be combined"},
		{name: "bearer without token", meta: base(m{"authModes": "bearer"}), wantErr: `key "bearerToken": is required with authModes bearer`},
		{name: "tls without key", meta: base(m{"authModes": "tls"}), auth: m{"cert": testCert}, wantErr: `key "key": is required with authModes tls`},
		{name: "custom without value", meta: base(m{"authModes": "custom"}), auth: m{"customAuthHeader": "X"}, wantErr: `key "customAuthValue"`},
		{name: "token in metadata refused", meta: base(m{"bearerToken": "sekret"}), wantErr: `key "bearerToken": value "<redacted>": may not be set in metadata`},
		{name: "ca alone", meta: base(nil), auth: m{"ca": testCA}, check: func(t *testing.T, c *Config) {
			if c.tlsConfig == nil || c.tlsConfig.RootCAs == nil || len(c.tlsConfig.Certificates) != 0 {
				t.Errorf("tls %+v", c.tlsConfig)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var c Config
			_, err := decode.Decode(trigger.Spec{Type: Type, Name: "t", Metadata: tc.meta, AuthParams: tc.auth}, &c)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				for _, secret := range []string{"sekret", "pw123"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error prints %q: %v", secret, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, &c)
		})
	}
}

func TestValueRules(t *testing.T) {
	sample := func(v float64) *model.Sample { return &model.Sample{Value: model.SampleValue(v)} }
	cases := []struct {
		name    string
		ignore  bool
		val     model.Value
		want    float64
		wantErr error
	}{
		{"one element", true, model.Vector{sample(4.5)}, 4.5, nil},
		{"empty ignored", true, model.Vector{}, 0, nil},
		{"empty is an error", false, model.Vector{}, 0, ErrEmptyResult},
		{"many elements", true, model.Vector{sample(1), sample(2)}, 0, ErrManyElements},
		{"NaN ignored", true, model.Vector{sample(math.NaN())}, 0, nil},
		{"NaN is an error", false, model.Vector{sample(math.NaN())}, 0, ErrNotFinite},
		{"+Inf ignored", true, model.Vector{sample(math.Inf(1))}, 0, nil},
		{"-Inf is an error", false, model.Vector{sample(math.Inf(-1))}, 0, ErrNotFinite},
		{"scalar", true, &model.Scalar{Value: 7}, 7, nil},
		{"scalar NaN", false, &model.Scalar{Value: model.SampleValue(math.NaN())}, 0, ErrNotFinite},
		{"matrix", true, model.Matrix{}, 0, ErrUnsupportedRes},
		{"string", true, &model.String{Value: "x"}, 0, ErrUnsupportedRes},
		{"negative is kept", true, model.Vector{sample(-3)}, -3, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Config{IgnoreNullValues: tc.ignore}
			got, err := c.value(tc.val)
			if !errors.Is(err, tc.wantErr) || got != tc.want {
				t.Errorf("value = %v, %v; want %v, %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestRequest checks what goes over the wire, against a stand-in for the query API.
func TestRequest(t *testing.T) {
	var got *http.Request
	var form url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ = url.ParseQuery(string(body))
		got = r
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"12.5"]}]}}`))
	}))
	defer srv.Close()
	b := NewBuilder()
	defer b.Close()
	tr, err := b.Build(context.Background(), trigger.Spec{Type: Type, Metadata: m{
		"serverAddress": srv.URL + "/prefix", "query": "sum(up)", "threshold": "10", "namespace": "team-a",
		"queryParameters": "dedup=true", "customHeaders": "X-Scope-OrgID=tenant", "authModes": "basic,custom"},
		AuthParams: m{"username": "u", "password": "p", "customAuthHeader": "X-Token", "customAuthValue": "abc"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Source.Close()
	v, err := tr.Source.Measure(context.Background())
	if err != nil || v != 12.5 {
		t.Fatalf("Measure = %v, %v", v, err)
	}
	user, pass, _ := got.BasicAuth()
	checks := map[string]bool{
		"path":      got.URL.Path == "/prefix/api/v1/query",
		"query":     form.Get("query") == "sum(up)" && form.Get("time") == "",
		"namespace": got.URL.Query().Get("namespace") == "team-a",
		"params":    got.URL.Query().Get("dedup") == "true",
		"header":    got.Header.Get("X-Scope-OrgID") == "tenant",
		"custom":    got.Header.Get("X-Token") == "abc",
		"basic":     user == "u" && pass == "p",
	}
	for name, ok := range checks {
		if !ok {
			t.Errorf("%s wrong: %s %s %v", name, got.URL, form, got.Header)
		}
	}
}

func FuzzConfig(f *testing.F) {
	for _, ex := range kedaDocExamples {
		f.Add(ex.meta["serverAddress"], ex.meta["threshold"], ex.meta["customHeaders"], ex.meta["authModes"], ex.meta["timeout"])
	}
	f.Fuzz(func(t *testing.T, addr, threshold, headers, modes, timeout string) {
		var c Config
		_, err := decode.Decode(trigger.Spec{Type: Type, Metadata: m{"serverAddress": addr, "query": "up",
			"threshold": threshold, "customHeaders": headers, "authModes": modes, "timeout": timeout}}, &c)
		if err == nil && (c.server == nil || c.Threshold <= 0 || c.Timeout < 0) {
			t.Fatalf("accepted %+v", c)
		}
	})
}

// TestTLS queries a TLS stand-in for the query API that requires client certificates.
func TestTLS(t *testing.T) {
	serverTLS, err := testPKI.ServerTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"3"]}}`))
	}))
	srv.TLS = serverTLS
	srv.StartTLS()
	defer srv.Close()
	cases := []struct {
		name string
		meta m
		auth m
		ok   bool
	}{
		{"tls mode with ca", m{"authModes": "tls"}, m{"ca": testCA, "cert": testCert, "key": testKey}, true},
		{"unsafeSsl without ca", m{"authModes": "tls", "unsafeSsl": "true"}, m{"cert": testCert, "key": testKey}, true},
		{"no client certificate", nil, m{"ca": testCA}, false},
		{"unknown CA", m{"authModes": "tls"}, m{"cert": testCert, "key": testKey}, false},
	}
	b := NewBuilder()
	defer b.Close()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			meta := m{"serverAddress": srv.URL, "query": "scalar(up)", "threshold": "1"}
			for k, v := range tc.meta {
				meta[k] = v
			}
			tr, err := b.Build(context.Background(), trigger.Spec{Type: Type, Metadata: meta, AuthParams: tc.auth})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Source.Close()
			v, err := tr.Source.Measure(context.Background())
			if tc.ok != (err == nil) || (tc.ok && v != 3) {
				t.Errorf("Measure = %v, %v; want ok=%v", v, err, tc.ok)
			}
		})
	}
}

func TestDeprecatedMetricName(t *testing.T) {
	var c Config
	warnings, err := decode.Decode(trigger.Spec{Type: Type, Name: "old", Metadata: m{
		"serverAddress": "http://p:9090", "query": "up", "threshold": "1", "metricName": "http_requests_total"}}, &c)
	if err != nil || len(warnings) != 1 || !strings.Contains(warnings[0], `key "metricName" is deprecated: ignored`) {
		t.Errorf("warnings %q, err %v", warnings, err)
	}
}

// TestTimeout checks the timeout key bounds a query when the caller sets no deadline.
func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	b := NewBuilder()
	defer b.Close()
	tr, err := b.Build(context.Background(), trigger.Spec{Type: Type, Metadata: m{
		"serverAddress": srv.URL, "query": "up", "threshold": "1", "timeout": "200"}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Source.Close()
	start := time.Now()
	_, err = tr.Source.Measure(context.Background())
	if took := time.Since(start); err == nil || took > 2*time.Second {
		t.Errorf("Measure = %v after %v; want a timeout after about 200ms", err, took)
	}
}
