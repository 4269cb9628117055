package charts_test

import (
	"context"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
)

// Objects the RBAC checks act on (created by the admin in setup).
const (
	appNS       = "app"
	targetName  = "work"
	soName      = "orders"
	secretName  = "rabbit-auth"
	taName      = "rabbit"
	ctaName     = "shared"
	hpaName     = "surge-orders"
	authCMNS    = "kube-system"
	authCMName  = "extension-apiserver-authentication"
	saNamespace = testNamespace
)

var (
	soGVR  = schema.GroupVersionResource{Group: "surge.dev", Version: "v1alpha1", Resource: "scaledobjects"}
	taGVR  = schema.GroupVersionResource{Group: "surge.dev", Version: "v1alpha1", Resource: "triggerauthentications"}
	ctaGVR = schema.GroupVersionResource{Group: "surge.dev", Version: "v1alpha1", Resource: "clustertriggerauthentications"}
)

// clients are the typed and dynamic clients of one identity.
type clients struct {
	kube kubernetes.Interface
	dyn  dynamic.Interface
}

// op is one API operation surge-scaler performs (or must not be able to perform).
type op struct {
	name string
	do   func(ctx context.Context, c clients) error
}

// scalerOps are exactly the operations surge-scaler performs, one per RBAC need.
// Each cleans up after itself so it can run again.
func scalerOps() []op {
	return []op{
		{"list and watch ScaledObjects in all namespaces", func(ctx context.Context, c clients) error {
			if _, err := c.dyn.Resource(soGVR).List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
			w, err := c.dyn.Resource(soGVR).Watch(ctx, metav1.ListOptions{TimeoutSeconds: ptr.To[int64](1)})
			if err != nil {
				return err
			}
			w.Stop()
			return nil
		}},
		{"add and remove the ScaledObject finalizer", func(ctx context.Context, c clients) error {
			ri := c.dyn.Resource(soGVR).Namespace(appNS)
			so, err := ri.Get(ctx, soName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			so.SetFinalizers([]string{"surge.dev/finalizer"})
			if so, err = ri.Update(ctx, so, metav1.UpdateOptions{FieldManager: "surge-scaler"}); err != nil {
				return err
			}
			patch := []byte(`{"metadata":{"finalizers":null}}`)
			_, err = ri.Patch(ctx, soName, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: "surge-scaler"})
			return err
		}},
		{"update ScaledObject status", func(ctx context.Context, c clients) error {
			ri := c.dyn.Resource(soGVR).Namespace(appNS)
			so, err := ri.Get(ctx, soName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cond := map[string]any{"type": "Ready", "status": "True", "reason": "RBACCheck", "message": "ok",
				"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
			if err := unstructured.SetNestedSlice(so.Object, []any{cond}, "status", "conditions"); err != nil {
				return err
			}
			_, err = ri.UpdateStatus(ctx, so, metav1.UpdateOptions{FieldManager: "surge-scaler"})
			return err
		}},
		{"own HPAs: blockOwnerDeletion needs update on scaledobjects/finalizers", func(ctx context.Context, c clients) error {
			// Only enforced by the OwnerReferencesPermissionEnforcement admission
			// plugin, which this control plane does not run: ask the authorizer.
			r, err := c.kube.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authzv1.SelfSubjectAccessReview{
				Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
					Namespace: appNS, Verb: "update", Group: "surge.dev", Resource: "scaledobjects", Subresource: "finalizers", Name: soName,
				}}}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if !r.Status.Allowed {
				return apierrors.NewForbidden(schema.GroupResource{Group: "surge.dev", Resource: "scaledobjects/finalizers"}, soName,
					fmt.Errorf("access review denied: %s", r.Status.Reason))
			}
			return nil
		}},
		{"read TriggerAuthentications and ClusterTriggerAuthentications", func(ctx context.Context, c clients) error {
			if _, err := c.dyn.Resource(taGVR).List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
			if _, err := c.dyn.Resource(taGVR).Namespace(appNS).Get(ctx, taName, metav1.GetOptions{}); err != nil {
				return err
			}
			_, err := c.dyn.Resource(ctaGVR).Get(ctx, ctaName, metav1.GetOptions{})
			return err
		}},
		{"read referenced Secrets and ConfigMaps", func(ctx context.Context, c clients) error {
			if _, err := c.kube.CoreV1().Secrets(appNS).Get(ctx, secretName, metav1.GetOptions{}); err != nil {
				return err
			}
			_, err := c.kube.CoreV1().ConfigMaps(appNS).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"create, update and delete the owned HPA", func(ctx context.Context, c clients) error {
			hpas := c.kube.AutoscalingV2().HorizontalPodAutoscalers(appNS)
			h := &autoscalingv2.HorizontalPodAutoscaler{
				ObjectMeta: metav1.ObjectMeta{Name: hpaName, Labels: map[string]string{"app.kubernetes.io/managed-by": "surge-scaler"}},
				Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
					ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: targetName},
					MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
					Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
						Metric: autoscalingv2.MetricIdentifier{Name: "s0-rabbitmq-orders"},
						Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: ptr.To(resourceQuantity("10"))},
					}}},
				},
			}
			// A run interrupted between create and delete leaves one behind.
			if err := hpas.Delete(ctx, hpaName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return err
			}
			got, err := hpas.Create(ctx, h, metav1.CreateOptions{FieldManager: "surge-scaler"})
			if err != nil {
				return err
			}
			// The HPA controller writes status meanwhile: get and update on conflict.
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				if got, err = hpas.Get(ctx, hpaName, metav1.GetOptions{}); err != nil {
					return err
				}
				got.Spec.MaxReplicas = 20
				_, err := hpas.Update(ctx, got, metav1.UpdateOptions{FieldManager: "surge-scaler"})
				return err
			})
			if err != nil {
				return err
			}
			if _, err := hpas.List(ctx, metav1.ListOptions{}); err != nil {
				return err
			}
			return hpas.Delete(ctx, hpaName, metav1.DeleteOptions{})
		}},
		{"read the target and scale it through /scale", func(ctx context.Context, c clients) error {
			d := c.kube.AppsV1().Deployments(appNS)
			if _, err := d.Get(ctx, targetName, metav1.GetOptions{}); err != nil {
				return err
			}
			// The deployment controller writes the object too: retry on conflict, as
			// surge-scaler does.
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				s, err := d.GetScale(ctx, targetName, metav1.GetOptions{})
				if err != nil {
					return err
				}
				s.Spec.Replicas = 1 - s.Spec.Replicas%2 // 0 <-> 1
				_, err = d.UpdateScale(ctx, targetName, &autoscalingv1.Scale{ObjectMeta: s.ObjectMeta, Spec: s.Spec}, metav1.UpdateOptions{FieldManager: "surge-scaler"})
				return err
			})
		}},
		{"list StatefulSets (a default scale target kind)", func(ctx context.Context, c clients) error {
			_, err := c.kube.AppsV1().StatefulSets(appNS).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"leader election: record and aggregate a core event next to the Lease", func(ctx context.Context, c clients) error {
			ev, err := c.kube.CoreV1().Events(saNamespace).Create(ctx, &corev1.Event{
				ObjectMeta:     metav1.ObjectMeta{GenerateName: "surge-scaler.surge.dev."},
				InvolvedObject: corev1.ObjectReference{APIVersion: "coordination.k8s.io/v1", Kind: "Lease", Namespace: saNamespace, Name: "surge-scaler.surge.dev"},
				Reason:         "LeaderElection", Message: "rbac check became leader", Type: corev1.EventTypeNormal, Count: 1,
				Source: corev1.EventSource{Component: "surge-scaler"},
			}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			_, err = c.kube.CoreV1().Events(saNamespace).Patch(ctx, ev.Name, types.MergePatchType, []byte(`{"count":2}`), metav1.PatchOptions{})
			return err
		}},
		{"record an events.k8s.io event", func(ctx context.Context, c clients) error {
			_, err := c.kube.EventsV1().Events(appNS).Create(ctx, &eventsv1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", soName, time.Now().UnixNano())},
				EventTime:  metav1.NewMicroTime(time.Now()), ReportingController: "surge.dev/surge-scaler", ReportingInstance: "surge-scaler-0",
				Action: "Scale", Reason: "Activated", Note: "rbac check", Type: corev1.EventTypeNormal,
				Regarding: corev1.ObjectReference{APIVersion: "surge.dev/v1alpha1", Kind: "ScaledObject", Namespace: appNS, Name: soName},
			}, metav1.CreateOptions{})
			return err
		}},
		{"leader election: create, get and renew the Lease", func(ctx context.Context, c clients) error {
			leases := c.kube.CoordinationV1().Leases(saNamespace)
			name := fmt.Sprintf("surge-scaler-check-%d", time.Now().UnixNano())
			l, err := leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("surge-scaler-0"), LeaseDurationSeconds: ptr.To[int32](15)}}, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if l, err = leases.Get(ctx, name, metav1.GetOptions{}); err != nil {
				return err
			}
			l.Spec.RenewTime = ptr.To(metav1.NewMicroTime(time.Now()))
			_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
			return err
		}},
		{"metrics API: read extension-apiserver-authentication", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().ConfigMaps(authCMNS).Get(ctx, authCMName, metav1.GetOptions{})
			return err
		}},
		{"metrics API: TokenReview and SubjectAccessReview", func(ctx context.Context, c clients) error {
			if _, err := c.kube.AuthenticationV1().TokenReviews().Create(ctx, &authnv1.TokenReview{
				Spec: authnv1.TokenReviewSpec{Token: "not-a-token"}}, metav1.CreateOptions{}); err != nil {
				return err
			}
			_, err := c.kube.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authzv1.SubjectAccessReview{
				Spec: authzv1.SubjectAccessReviewSpec{User: "system:kube-controller-manager", ResourceAttributes: &authzv1.ResourceAttributes{
					Group: "external.metrics.k8s.io", Version: "v1beta1", Resource: "s0-rabbitmq-orders", Namespace: appNS, Verb: "get"}},
			}, metav1.CreateOptions{})
			return err
		}},
	}
}

// forbiddenOps are operations surge-scaler never performs and must not be allowed.
func forbiddenOps() []op {
	return []op{
		{"delete the target Deployment", func(ctx context.Context, c clients) error {
			return c.kube.AppsV1().Deployments(appNS).Delete(ctx, targetName, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{"update the target Deployment's spec", func(ctx context.Context, c clients) error {
			_, err := c.kube.AppsV1().Deployments(appNS).Patch(ctx, targetName, types.MergePatchType,
				[]byte(`{"spec":{"paused":true}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"create a pod", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().Pods(appNS).Create(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"create a ScaledObject", func(ctx context.Context, c clients) error {
			so := newScaledObject("other")
			_, err := c.dyn.Resource(soGVR).Namespace(appNS).Create(ctx, so, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"delete a ScaledObject", func(ctx context.Context, c clients) error {
			return c.dyn.Resource(soGVR).Namespace(appNS).Delete(ctx, soName, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{"write a Secret", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().Secrets(appNS).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "stolen"}},
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"create a Lease outside its namespace", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoordinationV1().Leases(appNS).Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: "x"}},
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"change the authentication ConfigMap", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().ConfigMaps(authCMNS).Patch(ctx, authCMName, types.MergePatchType,
				[]byte(`{"data":{"x":"y"}}`), metav1.PatchOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"record a core event outside the lease namespace", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().Events(appNS).Create(ctx, &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "x"},
				InvolvedObject: corev1.ObjectReference{Namespace: appNS, Name: "x"}}, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"list nodes", func(ctx context.Context, c clients) error {
			_, err := c.kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			return err
		}},
		{"create a ClusterRole", func(ctx context.Context, c clients) error {
			_, err := c.kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "surge-escalate"}},
				metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
		{"delete a namespace", func(ctx context.Context, c clients) error {
			return c.kube.CoreV1().Namespaces().Delete(ctx, appNS, metav1.DeleteOptions{DryRun: []string{metav1.DryRunAll}})
		}},
		{"scale a kind that is not a scale target (ReplicaSet)", func(ctx context.Context, c clients) error {
			_, err := c.kube.AppsV1().ReplicaSets(appNS).UpdateScale(ctx, "x", &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: appNS}},
				metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}},
	}
}

// newScaledObject is a valid ScaledObject for the target Deployment.
func newScaledObject(name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "surge.dev/v1alpha1", "kind": "ScaledObject",
		"metadata": map[string]any{"name": name, "namespace": appNS},
		"spec": map[string]any{
			"scaleTargetRef": map[string]any{"name": targetName},
			"triggers": []any{map[string]any{"type": "rabbitmq", "name": "orders",
				"metadata":          map[string]any{"queueName": "orders", "mode": "QueueLength", "value": "10"},
				"authenticationRef": map[string]any{"name": taName}}},
		},
	}}
}

// targetDeployment is the scale target (no node runs its pods; only /scale matters).
func targetDeployment() *appsv1.Deployment {
	labels := map[string]string{"app": targetName}
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: targetName, Namespace: appNS},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "worker", Image: "example.invalid/worker"}}},
			},
		},
	}
}
