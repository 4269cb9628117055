package charts_test

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestScalerDefaults renders the scaler chart with its defaults and checks the objects
// a working install needs.
func TestScalerDefaults(t *testing.T) {
	r := mustRender(t, "surge-scaler", "")
	want := []string{
		"ServiceAccount/surge-surge-scaler",
		"ClusterRole/surge-surge-scaler-controller",
		"ClusterRoleBinding/surge-surge-scaler-controller",
		"Role/surge-surge-scaler-leader-election",
		"RoleBinding/surge-surge-scaler-leader-election",
		"ClusterRoleBinding/surge-surge-scaler-auth-delegator",
		"RoleBinding/surge-surge-scaler-auth-reader",
		"ClusterRole/surge-surge-scaler-external-metrics-reader",
		"ClusterRoleBinding/surge-surge-scaler-hpa-external-metrics",
		"Secret/surge-surge-scaler-metrics-api-tls",
		"Service/surge-surge-scaler-metrics-api",
		"Service/surge-surge-scaler-metrics",
		"APIService/v1beta1.external.metrics.k8s.io",
		"Deployment/surge-surge-scaler",
		"PodDisruptionBudget/surge-surge-scaler",
	}
	got := map[string]bool{}
	for _, o := range r.objects {
		got[o.GetKind()+"/"+o.GetName()] = true
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("missing %s; have %s", w, r.summary())
		}
	}
	if len(got) != len(want) {
		t.Errorf("rendered %d objects, want %d: %s", len(got), len(want), r.summary())
	}
	for _, kind := range []string{"ServiceMonitor", "ConfigMap", "Certificate", "Issuer"} {
		if len(r.find(kind, "")) != 0 {
			t.Errorf("%s rendered by default", kind)
		}
	}
	if r.files["surge-scaler/templates/NOTES.txt"] == "" {
		t.Error("NOTES.txt is empty")
	}
}

// TestScalerDeploymentHardening checks the pod runs non-root on a read-only root
// filesystem with probes, resources and the serving certificate mounted.
func TestScalerDeploymentHardening(t *testing.T) {
	r := mustRender(t, "surge-scaler", "")
	d := r.one(t, "Deployment", "surge-surge-scaler")
	pod := nested(t, d.Object, "spec", "template", "spec").(map[string]any)
	if got := nested(t, pod, "securityContext", "runAsNonRoot"); got != true {
		t.Errorf("runAsNonRoot = %v", got)
	}
	if got := nested(t, pod, "serviceAccountName"); got != "surge-surge-scaler" {
		t.Errorf("serviceAccountName = %v", got)
	}
	c := container(t, d, "surge-scaler")
	for path, want := range map[string]any{
		"securityContext.readOnlyRootFilesystem":   true,
		"securityContext.allowPrivilegeEscalation": false,
		"livenessProbe.httpGet.path":               "/healthz",
		"readinessProbe.httpGet.path":              "/readyz",
		"resources.limits.memory":                  "512Mi",
		"image":                                    "ghcr.io/surge-autoscaler/surge-scaler:0.1.0",
	} {
		if got := nested(t, c, strings.Split(path, ".")...); got != want {
			t.Errorf("container %s = %v, want %v", path, got, want)
		}
	}
	args := stringsOf(nested(t, c, "args"))
	for _, want := range []string{
		"--leader-elect=true", "--leader-election-namespace=surge-system",
		"--metrics-api=true", "--secure-port=6443",
		"--tls-cert-file=/var/run/surge/tls/tls.crt", "--tls-private-key-file=/var/run/surge/tls/tls.key",
		"--metrics-api-service-name=surge-surge-scaler-metrics-api", "--metrics-api-service-namespace=surge-system",
		"--metrics-bind-address=:8080", "--health-probe-bind-address=:8081",
	} {
		if !contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	var tlsVolume bool
	for _, v := range nested(t, pod, "volumes").([]any) {
		if secretName, _, _ := unstructured.NestedString(v.(map[string]any), "secret", "secretName"); secretName == "surge-surge-scaler-metrics-api-tls" {
			tlsVolume = true
		}
	}
	if !tlsVolume {
		t.Error("the serving certificate Secret is not mounted")
	}
	// One replica: the PDB must not block drains.
	pdb := r.one(t, "PodDisruptionBudget", "")
	if got := nested(t, pdb.Object, "spec", "maxUnavailable"); got != int64(1) {
		t.Errorf("single-replica PDB maxUnavailable = %v (%T), want 1", got, got)
	}
}

// TestScalerServingCertificate checks the generated certificate is valid for the name
// the aggregator dials, and that the APIService trusts its CA.
func TestScalerServingCertificate(t *testing.T) {
	r := mustRender(t, "surge-scaler", "")
	sec := r.one(t, "Secret", "surge-surge-scaler-metrics-api-tls")
	api := r.one(t, "APIService", "v1beta1.external.metrics.k8s.io")
	caB64 := nested(t, sec.Object, "data", "ca.crt").(string)
	if got := nested(t, api.Object, "spec", "caBundle"); got != caB64 {
		t.Fatalf("APIService caBundle differs from the Secret's ca.crt")
	}
	if got := nested(t, api.Object, "spec", "service", "name"); got != "surge-surge-scaler-metrics-api" {
		t.Errorf("APIService service = %v", got)
	}
	if got := nested(t, api.Object, "spec", "service", "port"); got != int64(443) {
		t.Errorf("APIService port = %v", got)
	}
	verifyServing(t, caB64, nested(t, sec.Object, "data", "tls.crt").(string),
		nested(t, sec.Object, "data", "tls.key").(string), "surge-surge-scaler-metrics-api.surge-system.svc")

	// A second render (a second install) generates a different pair: nothing is baked in.
	r2 := mustRender(t, "surge-scaler", "")
	if nested(t, r2.one(t, "Secret", "").Object, "data", "ca.crt") == caB64 {
		t.Error("two renders produced the same CA: the certificate is not generated")
	}
	d := r.one(t, "Deployment", "")
	if nested(t, d.Object, "spec", "template", "metadata", "annotations", "checksum/tls") == nil {
		t.Error("no checksum/tls annotation to roll pods on a new certificate")
	}
}
