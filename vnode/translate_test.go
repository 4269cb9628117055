package vnode

import (
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/surge-autoscaler/surge/providers"
)

func basePod() *corev1.Pod {
	grace := int64(7)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", UID: "uid-1", Labels: map[string]string{"app": "w"}},
		Spec: corev1.PodSpec{
			NodeName:                      "vn",
			RestartPolicy:                 corev1.RestartPolicyAlways,
			TerminationGracePeriodSeconds: &grace,
			Containers: []corev1.Container{{
				Name: "c", Image: "img:1", Command: []string{"run", "$(MODE)"}, Args: []string{"--x=$(UNSET)", "$$(MODE)"},
				WorkingDir: "/w",
				Ports:      []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				Resources: corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1"), corev1.ResourceMemory: resource.MustParse("128Mi"), gpuResource: resource.MustParse("1")},
				},
			}},
			Volumes: []corev1.Volume{{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
				Sources: []corev1.VolumeProjection{{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}}}},
		},
	}
}

func TestTranslate(t *testing.T) {
	pod := basePod()
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access-x", MountPath: "/var/run/secrets"}}
	before := pod.DeepCopy()
	env := map[string][]providers.EnvVar{"c": {{Name: "MODE", Value: "fast"}, {Name: "TOKEN", Value: "t", Secret: true}}}
	creds := []providers.RegistryCredential{{Server: "r", Username: "u", Password: "p"}}
	spec, err := Translate(pod, env, creds)
	if err != nil {
		t.Fatal(err)
	}
	want := &providers.InstanceSpec{
		Ref:                    providers.InstanceRef{Namespace: "ns", Name: "p", UID: "uid-1"},
		Labels:                 map[string]string{"app": "w"},
		RestartPolicy:          providers.RestartAlways,
		TerminationGracePeriod: 7 * time.Second,
		RegistryCredentials:    creds,
		Containers: []providers.ContainerSpec{{
			Name: "c", Image: "img:1", Command: []string{"run", "fast"}, Args: []string{"--x=$(UNSET)", "$(MODE)"},
			Env: env["c"], WorkingDir: "/w", Ports: []providers.Port{{Name: "http", ContainerPort: 8080, Protocol: "TCP"}},
			Requests: providers.ResourceList{MilliCPU: 250, MemoryBytes: 64 << 20},
			Limits:   providers.ResourceList{MilliCPU: 1000, MemoryBytes: 128 << 20, GPU: 1},
		}},
	}
	if !reflect.DeepEqual(spec, want) {
		t.Fatalf("Translate:\n got %+v\nwant %+v", spec, want)
	}
	if !reflect.DeepEqual(pod, before) {
		t.Fatal("Translate modified the pod")
	}
	spec.Labels["app"] = "changed"
	if pod.Labels["app"] != "w" {
		t.Fatal("the spec shares the pod's labels")
	}
}

func TestTranslateDefaultsAndPolicies(t *testing.T) {
	tests := []struct {
		name   string
		policy corev1.RestartPolicy
		grace  *int64
		want   providers.RestartPolicy
		wantG  time.Duration
	}{
		{"always default grace", corev1.RestartPolicyAlways, nil, providers.RestartAlways, 30 * time.Second},
		{"never zero grace", corev1.RestartPolicyNever, new(int64), providers.RestartNever, 0},
		{"on failure", corev1.RestartPolicyOnFailure, nil, providers.RestartOnFailure, 30 * time.Second},
		{"empty is always", "", nil, providers.RestartAlways, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.RestartPolicy, pod.Spec.TerminationGracePeriodSeconds = tc.policy, tc.grace
			spec, err := Translate(pod, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if spec.RestartPolicy != tc.want || spec.TerminationGracePeriod != tc.wantG {
				t.Fatalf("got %s %v, want %s %v", spec.RestartPolicy, spec.TerminationGracePeriod, tc.want, tc.wantG)
			}
		})
	}
}

func TestTranslateRejectsUnsupported(t *testing.T) {
	yes := true
	tests := []struct {
		name   string
		mutate func(p *corev1.Pod)
		fields []string
	}{
		{"host network", func(p *corev1.Pod) { p.Spec.HostNetwork = true }, []string{"spec.hostNetwork"}},
		{"host pid and ipc", func(p *corev1.Pod) { p.Spec.HostPID, p.Spec.HostIPC = true, true }, []string{"spec.hostPID", "spec.hostIPC"}},
		{"host path volume and its mount", func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "h", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/"}}})
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "h", MountPath: "/h"}}
		}, []string{"spec.volumes[1].hostPath", "spec.containers[0].volumeMounts[0]"}},
		{"empty dir", func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "e", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		}, []string{"spec.volumes[0]"}},
		{"privileged", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &yes}
		}, []string{"spec.containers[0].securityContext.privileged"}},
		{"capabilities", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}}
		}, []string{"spec.containers[0].securityContext.capabilities.add"}},
		{"host port", func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].HostPort = 80 }, []string{"spec.containers[0].ports[0].hostPort"}},
		{"init container", func(p *corev1.Pod) { p.Spec.InitContainers = []corev1.Container{{Name: "i"}} }, []string{"spec.initContainers[0]"}},
		{"stdin", func(p *corev1.Pod) { p.Spec.Containers[0].Stdin = true }, []string{"spec.containers[0].stdin"}},
		{"windows", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} }, []string{"spec.os.name"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			tc.mutate(pod)
			_, err := Translate(pod, nil, nil)
			ue, ok := err.(*UnsupportedError)
			if !ok {
				t.Fatalf("Translate = %v, want *UnsupportedError", err)
			}
			var got []string
			for _, f := range ue.Fields {
				got = append(got, f.Field)
			}
			if !reflect.DeepEqual(got, tc.fields) {
				t.Fatalf("fields %v, want %v", got, tc.fields)
			}
			for _, f := range tc.fields {
				if !strings.Contains(err.Error(), f) {
					t.Fatalf("message %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestWarnings(t *testing.T) {
	pod := basePod()
	if w := Warnings(pod); len(w) != 0 {
		t.Fatalf("plain pod warnings: %v", w)
	}
	pod.Spec.Containers[0].ReadinessProbe = &corev1.Probe{}
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{}}
	w := Warnings(pod)
	if len(w) != 2 || !strings.Contains(w[0], "probes") || !strings.Contains(w[1], "lifecycle") {
		t.Fatalf("warnings %v", w)
	}
}
