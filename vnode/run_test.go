package vnode

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	k8sfake "k8s.io/client-go/kubernetes/fake"

	"github.com/surge-autoscaler/surge/providers/fake"
)

// TestRunWiring runs the whole virtual node in-process over client-go's fake
// clientset: registration, a pod created, reported Running, deleted, and its
// instance removed.
func TestRunWiring(t *testing.T) {
	client := k8sfake.NewClientset()
	b := fake.New(fake.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{NodeName: "vn", Provider: "fake", Backend: b, Client: client,
			SyncInterval: 50 * time.Millisecond, API: APIConfig{AllowAnonymous: true},
			OnReady: func(*Handler) { close(ready) }})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("Run ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("not ready")
	}
	n, err := client.CoreV1().Nodes().Get(ctx, "vn", metav1.GetOptions{})
	if err != nil || n.Spec.Taints[0].Key != TaintKey || n.Status.DaemonEndpoints.KubeletEndpoint.Port == 0 {
		t.Fatalf("node %+v, %v", n, err)
	}
	p := basePod()
	p.Spec.NodeName = "vn"
	p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}}}
	pods := client.CoreV1().Pods("ns")
	if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := pods.Get(ctx, p.Name, metav1.GetOptions{})
		return err == nil && got.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		got, _ := pods.Get(ctx, p.Name, metav1.GetOptions{})
		t.Fatalf("pod not Running: %+v", got.Status)
	}
	if spec, ok := b.Spec(string(p.UID)); !ok || spec.Containers[0].Env[0].Value != p.Name {
		t.Fatalf("backend spec %+v", spec)
	}
	if err := pods.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 20*time.Second, true, func(context.Context) (bool, error) {
		return b.Len() == 0, nil
	})
	if err != nil {
		t.Fatalf("%d instances after the pod was deleted", b.Len())
	}
}
