package charts_test

import (
	"strings"
	"testing"
)

// aciRequired are the aci settings an ACI install must give.
const aciRequired = "subscriptionID: 00000000-1111-2222-3333-444444444444, resourceGroup: burst, region: westeurope"

// aciValues are the values an ACI install must give.
const aciValues = "aci: {" + aciRequired + "}\n"

// TestVnodeACI renders the vnode chart for ACI and checks the node's permissions,
// arguments and hardening.
func TestVnodeACI(t *testing.T) {
	r := mustRender(t, "surge-vnode", "aci: {"+aciRequired+", credentials: {secretName: aci-sp}}")
	d := r.one(t, "Deployment", "surge-surge-vnode")
	if got := nested(t, d.Object, "spec", "replicas"); got != int64(1) {
		t.Errorf("replicas = %v, want 1 (one process per node)", got)
	}
	c := container(t, d, "surge-vnode")
	args := stringsOf(nested(t, c, "args"))
	for _, want := range []string{"--backend=aci", "--nodename=surge-surge-vnode", "--tls-cert-file=/var/run/surge/kubelet/tls.crt", "--client-ca-file=/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "--health-bind-address=:8081", "--aci-subscription-id=00000000-1111-2222-3333-444444444444",
		"--aci-resource-group=burst", "--aci-region=westeurope", "--aci-owner=surge-surge-vnode", "--kubelet-port=10250"} {
		if !contains(args, want) {
			t.Errorf("args %v lack %s", args, want)
		}
	}
	if got := nested(t, c, "envFrom").([]any)[0].(map[string]any)["secretRef"].(map[string]any)["name"]; got != "aci-sp" {
		t.Errorf("credentials secret = %v", got)
	}
	if nested(t, c, "securityContext", "readOnlyRootFilesystem") != true || nested(t, d.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("pod not hardened")
	}
	rules := roleRules(t, r, "ClusterRole", "surge-surge-vnode")
	for _, c := range []struct{ res, verb string }{
		{"nodes", "create"}, {"nodes/status", "patch"}, {"pods", "watch"}, {"pods", "delete"},
		{"pods/status", "update"}, {"events", "create"}, {"secrets", "get"}, {"configmaps", "get"},
	} {
		if !allows(rules, "", c.res, c.verb) {
			t.Errorf("%s %s not allowed", c.verb, c.res)
		}
	}
	for _, c := range []struct{ res, verb string }{{"pods", "create"}, {"pods", "update"}, {"secrets", "create"}, {"nodes", "delete"}} {
		if allows(rules, "", c.res, c.verb) {
			t.Errorf("%s %s allowed, the node never does it", c.verb, c.res)
		}
	}
	lease := r.one(t, "Role", "surge-surge-vnode-lease")
	if lease.GetNamespace() != "kube-node-lease" || !allows(roleRules(t, r, "Role", "surge-surge-vnode-lease"), "coordination.k8s.io", "leases", "update") {
		t.Error("node lease not renewable")
	}
	sec := r.one(t, "Secret", "surge-surge-vnode-kubelet-tls")
	verifyServing(t, nested(t, sec.Object, "data", "ca.crt").(string), nested(t, sec.Object, "data", "tls.crt").(string),
		nested(t, sec.Object, "data", "tls.key").(string), "surge-surge-vnode")
	if len(r.find("ConfigMap", "")) != 0 {
		t.Error("image map rendered for the aci backend")
	}
}

// TestVnodeValues renders non-default vnode values.
func TestVnodeValues(t *testing.T) {
	tests := []struct {
		name, values string
		check        func(t *testing.T, r *rendered)
	}{{
		name:   "workload identity",
		values: "aci: {" + aciRequired + ", workloadIdentity: {enabled: true, clientID: abc}, credentials: {secretName: ignored}}",
		check: func(t *testing.T, r *rendered) {
			if got := r.one(t, "ServiceAccount", "").GetAnnotations()["azure.workload.identity/client-id"]; got != "abc" {
				t.Errorf("client-id annotation = %q", got)
			}
			d := r.one(t, "Deployment", "")
			if got := nested(t, d.Object, "spec", "template", "metadata", "labels", "azure.workload.identity/use"); got != "true" {
				t.Errorf("use label = %v", got)
			}
			if _, ok := container(t, d, "surge-vnode")["envFrom"]; ok {
				t.Error("secret credentials mounted with workload identity")
			}
		},
	}, {
		name:   "local backend with an image map",
		values: "backend: local\nnodeName: edge-1\nlocal: {imageMap: {'example.com/worker:1': /usr/local/bin/worker}, startDelay: 2s}",
		check: func(t *testing.T, r *rendered) {
			cm := r.one(t, "ConfigMap", "surge-surge-vnode-images")
			if !strings.Contains(nested(t, cm.Object, "data", "images.yaml").(string), "example.com/worker:1: /usr/local/bin/worker") {
				t.Errorf("image map %v", cm.Object["data"])
			}
			args := stringsOf(nested(t, container(t, r.one(t, "Deployment", ""), "surge-vnode"), "args"))
			for _, want := range []string{"--backend=local", "--nodename=edge-1", "--cgroups=off", "--image-map=/etc/surge/images.yaml", "--simulated-start-delay=2s"} {
				if !contains(args, want) {
					t.Errorf("args %v lack %s", args, want)
				}
			}
			for _, a := range args {
				if strings.HasPrefix(a, "--aci-") {
					t.Errorf("aci flag %s with the local backend", a)
				}
			}
			if !strings.Contains(r.files["surge-vnode/templates/NOTES.txt"], "value: local") {
				t.Error("NOTES do not show the toleration for the local taint")
			}
		},
	}, {
		name:   "secrets only in listed namespaces",
		values: aciValues + "rbac: {namespaces: [jobs]}",
		check: func(t *testing.T, r *rendered) {
			if allows(roleRules(t, r, "ClusterRole", "surge-surge-vnode"), "", "secrets", "get") {
				t.Error("cluster-wide secrets with rbac.namespaces set")
			}
			role := r.one(t, "Role", "surge-surge-vnode-pod-config")
			if role.GetNamespace() != "jobs" {
				t.Errorf("pod-config Role in %s", role.GetNamespace())
			}
		},
	}, {
		name:   "existing kubelet certificate",
		values: aciValues + "kubelet: {certificate: secret, secretName: kubelet-pair}",
		check: func(t *testing.T, r *rendered) {
			if len(r.find("Secret", "")) != 0 {
				t.Error("certificate generated although a Secret is given")
			}
			found := false
			for _, v := range nested(t, r.one(t, "Deployment", "").Object, "spec", "template", "spec", "volumes").([]any) {
				if s, ok := v.(map[string]any)["secret"].(map[string]any); ok && s["secretName"] == "kubelet-pair" {
					found = true
				}
			}
			if !found {
				t.Error("kubelet-pair not mounted")
			}
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, mustRender(t, "surge-vnode", tc.values)) })
	}
}

// TestVnodeSchemaRejects checks bad vnode values fail before rendering, with the
// offending key in the message.
func TestVnodeSchemaRejects(t *testing.T) {
	tests := []struct{ name, values, want string }{
		{"defaults need ACI settings", "", "subscriptionID"},
		{"unknown backend", "backend: lambda", "backend"},
		{"bad subscription id", "aci: {subscriptionID: my-sub, resourceGroup: g, region: westeurope}", "subscriptionID"},
		{"region with spaces", "aci: {subscriptionID: 00000000-1111-2222-3333-444444444444, resourceGroup: g, region: West Europe}", "region"},
		{"workload identity without client id", "aci: {" + aciRequired + ", workloadIdentity: {enabled: true}}", "clientID"},
		{"relative executable", "backend: local\nlocal: {imageMap: {img: worker}}", "imageMap"},
		{"bad delay", "backend: local\nlocal: {startDelay: soon}", "startDelay"},
		{"secret certificate without name", aciValues + "kubelet: {certificate: secret}", "secretName"},
		{"node name with capitals", aciValues + "nodeName: Burst", "nodeName"},
		{"unknown key", aciValues + "replicaCount: 2", "replicaCount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, "surge-vnode", tc.values)
			if err == nil {
				t.Fatalf("values %q accepted", tc.values)
			}
			if msg := err.Error(); !strings.Contains(msg, "schema") || !strings.Contains(msg, tc.want) {
				t.Errorf("error does not name %q: %v", tc.want, msg)
			}
		})
	}
}
