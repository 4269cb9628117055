package charts_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/surge-autoscaler/surge/test/harness"
)

func resourceQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// scalerSA is the chart's ServiceAccount as the API server names it.
const scalerSA = "system:serviceaccount:" + testNamespace + ":surge-surge-scaler"

// installed is the scaler chart applied to the package's cluster.
type installed struct {
	r     *rendered
	ap    *applier
	admin clients
	sa    clients
	saCfg *rest.Config
	// metricsPort is the local port the metrics API test serves on.
	metricsPort int
}

var (
	installOnce sync.Once
	install     *installed
	installErr  error
)

// installScaler renders the scaler chart (metrics API on a free local port) and
// server-side applies its CRDs and every rendered object to the cluster, plus the
// objects surge-scaler acts on. Only deviation from the chart: the metrics API
// Service becomes type ExternalName -> localhost, because the aggregator cannot reach
// a local process through a ClusterIP Service (see shared/notes/controlplane.md).
func installScaler(t *testing.T) *installed {
	t.Helper()
	harness.Integration(t)
	if cluster == nil {
		t.Fatal("no control plane (TestMain did not start one)")
	}
	installOnce.Do(func() { install, installErr = doInstall(t) })
	if installErr != nil {
		t.Fatalf("install the scaler chart: %v", installErr)
	}
	return install
}

func doInstall(t *testing.T) (*installed, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	port, err := harness.FreePort()
	if err != nil {
		return nil, err
	}
	r, err := render(t, "surge-scaler", fmt.Sprintf("metricsAPI: {port: %d, service: {port: %d}}", port, port))
	if err != nil {
		return nil, err
	}
	in := &installed{r: r, ap: newApplier(t, cluster.Config), metricsPort: port}
	if in.admin, err = newClients(cluster.Config); err != nil {
		return nil, err
	}
	in.saCfg = cluster.ServiceAccountConfig(testNamespace, "surge-surge-scaler")
	if in.sa, err = newClients(in.saCfg); err != nil {
		return nil, err
	}
	for _, ns := range []string{testNamespace, appNS} {
		if _, err := in.admin.kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return nil, err
		}
	}
	if err := cluster.InstallCRDs(ctx); err != nil { // Helm installs crds/ before the templates
		return nil, err
	}
	for _, o := range r.objects {
		o = o.DeepCopy()
		if o.GetKind() == "Service" && o.GetName() == "surge-surge-scaler-metrics-api" {
			o.Object["spec"] = map[string]any{"type": "ExternalName", "externalName": "localhost",
				"ports": []any{map[string]any{"name": "https", "port": int64(port), "protocol": "TCP"}}}
		}
		if err := in.ap.apply(ctx, o); err != nil {
			return nil, err
		}
	}
	// What surge-scaler acts on, created by the user (admin).
	if _, err := in.admin.kube.AppsV1().Deployments(appNS).Create(ctx, targetDeployment(), metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	if _, err := in.admin.kube.CoreV1().Secrets(appNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretName},
		StringData: map[string]string{"host": "amqp://guest:guest@127.0.0.1:5672/"}}, metav1.CreateOptions{}); err != nil {
		return nil, err
	}
	ta := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "surge.dev/v1alpha1", "kind": "TriggerAuthentication",
		"metadata": map[string]any{"name": taName, "namespace": appNS},
		"spec":     map[string]any{"secretTargetRef": []any{map[string]any{"parameter": "host", "name": secretName, "key": "host"}}}}}
	cta := ta.DeepCopy()
	cta.SetKind("ClusterTriggerAuthentication")
	cta.SetName(ctaName)
	cta.SetNamespace("")
	for _, o := range []*unstructured.Unstructured{ta, cta, newScaledObject(soName)} {
		if err := in.ap.apply(ctx, o); err != nil {
			return nil, err
		}
	}
	return in, nil
}

func newClients(cfg *rest.Config) (clients, error) {
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	d, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return clients{}, err
	}
	return clients{kube: k, dyn: d}, nil
}

// runOps runs ops as c and returns the errors by op name (nil entries for success).
func runOps(ctx context.Context, c clients, ops []op) map[string]error {
	out := make(map[string]error, len(ops))
	for _, o := range ops {
		out[o.name] = o.do(ctx, c)
	}
	return out
}

// TestScalerRBACSufficient performs, as the chart's ServiceAccount, every operation
// surge-scaler performs.
func TestScalerRBACSufficient(t *testing.T) {
	in := installScaler(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range scalerOps() {
		t.Run(o.name, func(t *testing.T) {
			// RBAC objects reach the authorizer's cache shortly after they are written.
			var err error
			for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
				if err = o.do(ctx, in.sa); err == nil || !apierrors.IsForbidden(err) || time.Now().After(deadline) {
					break
				}
			}
			if err != nil {
				t.Fatalf("as %s: %v", scalerSA, err)
			}
		})
	}
}

// TestScalerRBACForbidden checks the chart's ServiceAccount cannot do what surge-scaler
// never does (dry-run requests: authorisation happens before the dry run).
func TestScalerRBACForbidden(t *testing.T) {
	in := installScaler(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, o := range forbiddenOps() {
		t.Run(o.name, func(t *testing.T) {
			err := o.do(ctx, in.sa)
			if !apierrors.IsForbidden(err) {
				t.Fatalf("as %s: want Forbidden, got %v", scalerSA, err)
			}
			// The same request as admin is not refused, so Forbidden above came from RBAC.
			if err := o.do(ctx, in.admin); apierrors.IsForbidden(err) {
				t.Fatalf("admin is forbidden too: %v", err)
			}
		})
	}
}

// TestScalerRBACMinimal removes, one at a time, each rule of the chart's controller
// ClusterRole and lease Role, and each metrics API binding, and expects one of
// surge-scaler's operations to become Forbidden: no rule is there for nothing. The
// rule is restored after each case.
func TestScalerRBACMinimal(t *testing.T) {
	in := installScaler(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// waitOps runs the operations until some are Forbidden (wantForbidden; if want
	// is set, that one must be among them) or none are.
	waitOps := func(t *testing.T, wantForbidden bool, want string) map[string]error {
		t.Helper()
		var errs map[string]error
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			errs = runOps(ctx, in.sa, scalerOps())
			forbidden := 0
			for name, err := range errs {
				if err != nil && !apierrors.IsForbidden(err) {
					t.Fatalf("%s: unexpected error (not an RBAC denial): %v", name, err)
				}
				if err != nil {
					forbidden++
				}
			}
			if wantForbidden && want != "" {
				if errs[want] != nil {
					return errs
				}
				continue
			}
			if (forbidden > 0) == wantForbidden {
				return errs
			}
		}
		t.Fatalf("after 15 s, wanted forbidden=%v %s; errors: %v", wantForbidden, want, errs)
		return nil
	}
	type mutation struct {
		name            string
		remove, restore func() error
		want            string // the operation that must become Forbidden, if one in particular
	}
	var muts []mutation
	for _, ref := range []struct{ kind, name string }{
		{"ClusterRole", "surge-surge-scaler-controller"},
		{"Role", "surge-surge-scaler-leader-election"},
	} {
		obj := in.r.one(t, ref.kind, ref.name)
		rules := nested(t, obj.Object, "rules").([]any)
		for i := range rules {
			i := i
			muts = append(muts, mutation{
				name: fmt.Sprintf("%s %s rule %d %s", ref.kind, ref.name, i, ruleString(t, rules[i])),
				remove: func() error {
					o := obj.DeepCopy()
					rs := append(append([]any{}, rules[:i]...), rules[i+1:]...)
					o.Object["rules"] = rs
					return in.ap.apply(ctx, o)
				},
				restore: func() error { return in.ap.apply(ctx, obj) },
			})
		}
	}
	for _, ref := range []struct{ kind, name, want string }{
		{"ClusterRoleBinding", "surge-surge-scaler-controller", "list and watch ScaledObjects in all namespaces"},
		{"ClusterRoleBinding", "surge-surge-scaler-auth-delegator", "metrics API: TokenReview and SubjectAccessReview"},
		{"RoleBinding", "surge-surge-scaler-leader-election", "leader election: create, get and renew the Lease"},
	} {
		obj := in.r.one(t, ref.kind, ref.name)
		muts = append(muts, mutation{
			name:    fmt.Sprintf("%s %s", ref.kind, ref.name),
			remove:  func() error { return in.ap.delete(ctx, obj) },
			restore: func() error { return in.ap.apply(ctx, obj) },
			want:    ref.want,
		})
	}
	// The auth-reader binding overlaps with the default install's cluster-wide
	// ConfigMap reads; it alone carries the metrics API once rbac.secretNamespaces
	// narrows them, so remove both and expect exactly that read to fail.
	reader := in.r.one(t, "RoleBinding", "surge-surge-scaler-auth-reader")
	ctrl := in.r.one(t, "ClusterRole", "surge-surge-scaler-controller")
	muts = append(muts, mutation{
		name: "RoleBinding surge-surge-scaler-auth-reader (Secrets/ConfigMaps narrowed)",
		remove: func() error {
			if err := in.ap.delete(ctx, reader); err != nil {
				return err
			}
			o := ctrl.DeepCopy()
			var kept []any
			for _, r := range o.Object["rules"].([]any) {
				if !strings.Contains(ruleString(t, r), "secrets,configmaps") {
					kept = append(kept, r)
				}
			}
			o.Object["rules"] = kept
			return in.ap.apply(ctx, o)
		},
		restore: func() error {
			if err := in.ap.apply(ctx, ctrl); err != nil {
				return err
			}
			return in.ap.apply(ctx, reader)
		},
		want: "metrics API: read extension-apiserver-authentication",
	})
	waitOps(t, false, "")
	for _, m := range muts {
		t.Run("without "+m.name, func(t *testing.T) {
			if err := m.remove(); err != nil {
				t.Fatal(err)
			}
			errs := waitOps(t, true, m.want)
			var failed []string
			for name, err := range errs {
				if err != nil {
					failed = append(failed, name)
				}
			}
			t.Logf("forbidden without it: %s", strings.Join(failed, "; "))
			if err := m.restore(); err != nil {
				t.Fatal(err)
			}
			waitOps(t, false, "")
		})
	}
}

// ruleString is a short rule description for test names.
func ruleString(t testing.TB, rule any) string {
	t.Helper()
	m, ok := rule.(map[string]any)
	if !ok {
		t.Fatalf("rule %v", rule)
	}
	var parts []string
	for _, k := range []string{"apiGroups", "resources", "verbs"} {
		var vs []string
		for _, v := range m[k].([]any) {
			vs = append(vs, fmt.Sprint(v))
		}
		parts = append(parts, strings.Join(vs, ","))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
