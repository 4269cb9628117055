package charts_test

import (
	"encoding/json"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// clusterRoleRules decodes the rules of the named ClusterRole or Role.
func roleRules(t testing.TB, r *rendered, kind, name string) []rbacv1.PolicyRule {
	t.Helper()
	var role rbacv1.ClusterRole
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(r.one(t, kind, name).Object, &role); err != nil {
		t.Fatal(err)
	}
	return role.Rules
}

// allows reports whether rules grant verb on group/resource.
func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if (contains(r.APIGroups, group) || contains(r.APIGroups, "*")) &&
			(contains(r.Resources, resource) || contains(r.Resources, "*")) &&
			(contains(r.Verbs, verb) || contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}

// TestScalerValues renders the scaler chart with non-default values and checks each
// one changes what it says.
func TestScalerValues(t *testing.T) {
	tests := []struct {
		name   string
		values string
		check  func(t *testing.T, r *rendered)
	}{{
		name:   "replicas 3 force leader election and a minAvailable PDB",
		values: "replicaCount: 3\nleaderElection: {enabled: false}\npodDisruptionBudget: {minAvailable: 2}",
		check: func(t *testing.T, r *rendered) {
			d := r.one(t, "Deployment", "")
			if got := nested(t, d.Object, "spec", "replicas"); got != int64(3) {
				t.Errorf("replicas = %v", got)
			}
			if !contains(stringsOf(nested(t, container(t, d, "surge-scaler"), "args")), "--leader-elect=true") {
				t.Error("leader election not forced on with 3 replicas")
			}
			r.one(t, "Role", "surge-surge-scaler-leader-election")
			if got := nested(t, r.one(t, "PodDisruptionBudget", "").Object, "spec", "minAvailable"); got != int64(2) {
				t.Errorf("minAvailable = %v", got)
			}
		},
	}, {
		name:   "one replica without leader election has no lease role",
		values: "leaderElection: {enabled: false}",
		check: func(t *testing.T, r *rendered) {
			if len(r.find("Role", "surge-surge-scaler-leader-election")) != 0 {
				t.Error("lease Role rendered without leader election")
			}
			if !contains(stringsOf(nested(t, container(t, r.one(t, "Deployment", ""), "surge-scaler"), "args")), "--leader-elect=false") {
				t.Error("--leader-elect=false missing")
			}
		},
	}, {
		name:   "cert-manager issues the certificate and injects the CA",
		values: "certificates: {mode: certManager}",
		check: func(t *testing.T, r *rendered) {
			api := r.one(t, "APIService", "")
			if got := api.GetAnnotations()["cert-manager.io/inject-ca-from"]; got != "surge-system/surge-surge-scaler-metrics-api" {
				t.Errorf("inject-ca-from = %q", got)
			}
			if _, ok := api.Object["spec"].(map[string]any)["caBundle"]; ok {
				t.Error("caBundle set although cert-manager injects it")
			}
			if len(r.find("Secret", "")) != 0 {
				t.Error("Helm generated a Secret in certManager mode")
			}
			c := r.one(t, "Certificate", "surge-surge-scaler-metrics-api")
			dns := stringsOf(nested(t, c.Object, "spec", "dnsNames"))
			if !contains(dns, "surge-surge-scaler-metrics-api.surge-system.svc") {
				t.Errorf("dnsNames %v lack the aggregator's name", dns)
			}
			if len(r.find("Issuer", "")) != 2 {
				t.Errorf("want self-signed and CA issuers, got %s", r.summary())
			}
		},
	}, {
		name:   "cert-manager with the user's issuer",
		values: "certificates: {mode: certManager, certManager: {issuerRef: {name: corp-ca, kind: ClusterIssuer}}}",
		check: func(t *testing.T, r *rendered) {
			if len(r.find("Issuer", "")) != 0 {
				t.Error("chart issuers rendered although issuerRef is given")
			}
			if got := nested(t, r.one(t, "Certificate", "").Object, "spec", "issuerRef", "name"); got != "corp-ca" {
				t.Errorf("issuerRef.name = %v", got)
			}
		},
	}, {
		name:   "existing secret and caBundle",
		values: "certificates: {mode: secret, secretName: my-tls, caBundle: Zm9v}",
		check: func(t *testing.T, r *rendered) {
			if got := nested(t, r.one(t, "APIService", "").Object, "spec", "caBundle"); got != "Zm9v" {
				t.Errorf("caBundle = %v", got)
			}
			if len(r.find("Secret", "")) != 0 {
				t.Error("Secret rendered in secret mode")
			}
			found := false
			for _, v := range nested(t, r.one(t, "Deployment", "").Object, "spec", "template", "spec", "volumes").([]any) {
				if s, ok := v.(map[string]any)["secret"].(map[string]any); ok && s["secretName"] == "my-tls" {
					found = true
				}
			}
			if !found {
				t.Error("my-tls not mounted")
			}
		},
	}, {
		name:   "metrics API off",
		values: "metricsAPI: {enabled: false}",
		check: func(t *testing.T, r *rendered) {
			for _, k := range []string{"APIService", "Secret"} {
				if len(r.find(k, "")) != 0 {
					t.Errorf("%s rendered with the metrics API off", k)
				}
			}
			if len(r.find("ClusterRoleBinding", "surge-surge-scaler-auth-delegator")) != 0 {
				t.Error("auth-delegator bound with the metrics API off")
			}
			if !contains(stringsOf(nested(t, container(t, r.one(t, "Deployment", ""), "surge-scaler"), "args")), "--metrics-api=false") {
				t.Error("--metrics-api=false missing")
			}
		},
	}, {
		name:   "extra scale targets",
		values: `rbac: {scaleTargets: [{apiGroup: apps, resources: [deployments]}, {apiGroup: argoproj.io, resources: [rollouts]}]}`,
		check: func(t *testing.T, r *rendered) {
			rules := roleRules(t, r, "ClusterRole", "surge-surge-scaler-controller")
			for _, c := range []struct{ g, res, verb string }{
				{"argoproj.io", "rollouts/scale", "update"}, {"argoproj.io", "rollouts", "get"},
				{"apps", "deployments/scale", "patch"},
			} {
				if !allows(rules, c.g, c.res, c.verb) {
					t.Errorf("%s %s/%s not allowed", c.verb, c.g, c.res)
				}
			}
			if allows(rules, "apps", "statefulsets/scale", "update") {
				t.Error("statefulsets still scalable after being removed from scaleTargets")
			}
		},
	}, {
		name:   "secrets only in listed namespaces",
		values: "rbac: {secretNamespaces: [team-a, team-b]}",
		check: func(t *testing.T, r *rendered) {
			if allows(roleRules(t, r, "ClusterRole", "surge-surge-scaler-controller"), "", "secrets", "get") {
				t.Error("cluster-wide secrets access with secretNamespaces set")
			}
			var nss []string
			for _, o := range r.find("Role", "surge-surge-scaler-secrets") {
				nss = append(nss, o.GetNamespace())
			}
			if strings.Join(nss, ",") != "team-a,team-b,surge-system" {
				t.Errorf("secret Roles in %v, want team-a, team-b and the cluster resource namespace", nss)
			}
		},
	}, {
		name:   "service monitor and dashboard",
		values: "serviceMonitor: {enabled: true, labels: {release: prom}}\ngrafanaDashboard: {enabled: true, namespace: monitoring}",
		check: func(t *testing.T, r *rendered) {
			sm := r.one(t, "ServiceMonitor", "")
			if sm.GetLabels()["release"] != "prom" {
				t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
			}
			cm := r.one(t, "ConfigMap", "surge-surge-scaler-dashboard")
			if cm.GetNamespace() != "monitoring" || cm.GetLabels()["grafana_dashboard"] != "1" {
				t.Errorf("dashboard ConfigMap in %s with labels %v", cm.GetNamespace(), cm.GetLabels())
			}
			var dash struct {
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			if err := json.Unmarshal([]byte(nested(t, cm.Object, "data", "surge-scaler.json").(string)), &dash); err != nil {
				t.Fatalf("dashboard JSON: %v", err)
			}
			var exprs []string
			for _, p := range dash.Panels {
				for _, tg := range p.Targets {
					exprs = append(exprs, tg.Expr)
				}
			}
			all := strings.Join(exprs, "\n")
			for _, m := range []string{"surge_scaler_metrics_value", "surge_scaler_errors_total",
				"surge_scaler_measure_duration_seconds_bucket", "kube_horizontalpodautoscaler_status_desired_replicas",
				"kube_horizontalpodautoscaler_status_current_replicas"} {
				if !strings.Contains(all, m) {
					t.Errorf("dashboard does not query %s", m)
				}
			}
		},
	}, {
		name:   "fullnameOverride and existing service account",
		values: "fullnameOverride: autoscaler\nserviceAccount: {create: false, name: byo}",
		check: func(t *testing.T, r *rendered) {
			if len(r.find("ServiceAccount", "")) != 0 {
				t.Error("ServiceAccount created with create: false")
			}
			crb := r.one(t, "ClusterRoleBinding", "autoscaler-controller")
			if got := nested(t, crb.Object, "subjects").([]any)[0].(map[string]any)["name"]; got != "byo" {
				t.Errorf("bound subject %v", got)
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, mustRender(t, "surge-scaler", tc.values)) })
	}
}

// TestScalerSchemaRejects checks values.schema.json turns bad values into a clear
// error before anything renders, as `helm install` would.
func TestScalerSchemaRejects(t *testing.T) {
	tests := []struct{ name, values, want string }{
		{"negative replicas", "replicaCount: -1", "replicaCount"},
		{"replicas as string", `replicaCount: "two"`, "replicaCount"},
		{"unknown top-level key", "replicas: 2", "replicas"},
		{"typo in nested key", "metricsAPI: {enabld: true}", "enabld"},
		{"bad pull policy", "image: {pullPolicy: Sometimes}", "pullPolicy"},
		{"empty repository", `image: {repository: ""}`, "repository"},
		{"port out of range", "metricsAPI: {port: 70000}", "port"},
		{"unknown cert mode", "certificates: {mode: selfsigned}", "mode"},
		{"secret mode without secret", "certificates: {mode: secret}", "secretName"},
		{"scale target without resources", "rbac: {scaleTargets: [{apiGroup: apps}]}", "resources"},
		{"scale target with /scale suffix", "rbac: {scaleTargets: [{apiGroup: apps, resources: [deployments/scale]}]}", "resources"},
		{"bad namespace", "rbac: {secretNamespaces: [Team_A]}", "secretNamespaces"},
		{"qps zero", "kubeAPI: {qps: 0}", "qps"},
		{"extra arg not a flag", "extraArgs: [verbose]", "extraArgs"},
		{"bad scrape interval", "serviceMonitor: {interval: soon}", "interval"},
		{"bad issuer kind", "certificates: {mode: certManager, certManager: {issuerRef: {name: x, kind: Vault}}}", "kind"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "surge-scaler", tc.values)
			if err == nil {
				t.Fatalf("values %q accepted", tc.values)
			}
			msg := err.Error()
			if !strings.Contains(msg, "schema") || !strings.Contains(msg, tc.want) {
				t.Errorf("error does not name %q: %v", tc.want, msg)
			}
		})
	}
}
