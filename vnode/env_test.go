package vnode

import (
	"context"
	"encoding/base64"
	"errors"
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/surge-autoscaler/surge/providers"
)

// objects is an in-memory ObjectGetter that counts its calls.
type objects struct {
	secrets map[string]*corev1.Secret
	cms     map[string]*corev1.ConfigMap
	calls   int
}

func (o *objects) Secret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	o.calls++
	if s, ok := o.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
}

func (o *objects) ConfigMap(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
	o.calls++
	if c, ok := o.cms[ns+"/"+name]; ok {
		return c, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
}

func testObjects() *objects {
	return &objects{
		secrets: map[string]*corev1.Secret{"ns/creds": {Data: map[string][]byte{"password": []byte("hunter2"), "user": []byte("bob")}}},
		cms:     map[string]*corev1.ConfigMap{"ns/cfg": {Data: map[string]string{"b": "2", "a": "1", "bad=name": "x", "MODE": "cm"}}},
	}
}

func ptrBool(b bool) *bool { return &b }

func TestResolveEnv(t *testing.T) {
	pod := basePod()
	pod.Annotations = map[string]string{"team": "core"}
	pod.Spec.ServiceAccountName = "sa"
	c := &pod.Spec.Containers[0]
	c.EnvFrom = []corev1.EnvFromSource{
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}, Prefix: "CFG_"},
		{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}}},
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "absent"}, Optional: ptrBool(true)}},
	}
	c.Env = []corev1.EnvVar{
		{Name: "MODE", Value: "env"},
		{Name: "URL", Value: "http://$(user):$(MODE)@x/$(NOPE)"},
		{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: "NS", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}}},
		{Name: "UID", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.uid"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
		{Name: "TEAM", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['team']"}}},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "SA", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.serviceAccountName"}}},
		{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}}},
		{Name: "POD_IP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}},
		{Name: "PASS", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "password"}}},
		{Name: "OPT", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "nope", Optional: ptrBool(true)}}},
		{Name: "A", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "a"}}},
		{Name: "CPU_M", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
			Resource: "requests.cpu", Divisor: resource.MustParse("1m")}}},
		{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "requests.cpu"}}},
		{Name: "MEM_MI", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{
			Resource: "limits.memory", Divisor: resource.MustParse("1Mi")}}},
	}
	pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("100Mi")}
	c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	obj := testObjects()
	env, err := ResolveEnv(context.Background(), pod, obj, FieldValues{HostIP: "127.0.0.1", PodIP: "127.0.0.2"})
	if err != nil {
		t.Fatal(err)
	}
	want := []providers.EnvVar{
		{Name: "CFG_MODE", Value: "cm"}, {Name: "CFG_a", Value: "1"}, {Name: "CFG_b", Value: "2"},
		{Name: "password", Value: "hunter2", Secret: true}, {Name: "user", Value: "bob", Secret: true},
		{Name: "MODE", Value: "env"}, {Name: "URL", Value: "http://bob:env@x/$(NOPE)"},
		{Name: "POD", Value: "p"}, {Name: "NS", Value: "ns"}, {Name: "UID", Value: "uid-1"}, {Name: "APP", Value: "w"},
		{Name: "TEAM", Value: "core"}, {Name: "NODE", Value: "vn"}, {Name: "SA", Value: "sa"},
		{Name: "HOST_IP", Value: "127.0.0.1"}, {Name: "POD_IP", Value: "127.0.0.2"},
		{Name: "PASS", Value: "hunter2", Secret: true}, {Name: "A", Value: "1"},
		{Name: "CPU_M", Value: "250"}, {Name: "CPU", Value: "1"}, {Name: "MEM_MI", Value: "100"},
	}
	if got := env["c"]; !reflect.DeepEqual(got, want) {
		t.Fatalf("env:\n got %+v\nwant %+v", got, want)
	}
	if obj.calls != 3 {
		t.Fatalf("%d object reads, want 3 (memoised per object)", obj.calls)
	}
}

func TestResolveEnvErrors(t *testing.T) {
	tests := []struct {
		name string
		env  corev1.EnvVar
		want string
	}{
		{"missing secret", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "gone"}, Key: "k"}}}, `secret "gone"`},
		{"missing key", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "creds"}, Key: "k"}}}, `secret "creds" has no key "k"`},
		{"missing configmap key", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Key: "zz"}}}, `has no key "zz"`},
		{"bad field", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.phase"}}}, "not supported"},
		{"bad resource", corev1.EnvVar{Name: "X", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "cpu"}}}, "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pod := basePod()
			pod.Spec.Containers[0].Env = []corev1.EnvVar{tc.env}
			_, err := ResolveEnv(context.Background(), pod, testObjects(), FieldValues{})
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Container != "c" || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ResolveEnv = %v, want ConfigError with %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatal("error leaks a Secret value")
			}
		})
	}
}

func TestResourceLimitFallsBackToAllocatable(t *testing.T) {
	pod := basePod()
	pod.Spec.Containers[0].Resources = corev1.ResourceRequirements{}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "L", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}}}
	env, err := ResolveEnv(context.Background(), pod, testObjects(), FieldValues{Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("3500m")}})
	if err != nil || env["c"][0].Value != "4" {
		t.Fatalf("limits.cpu without a limit = %+v, %v; want 4 (allocatable rounded up)", env["c"], err)
	}
}

func TestExpand(t *testing.T) {
	vars := map[string]string{"A": "1", "B": "$(A)", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	tests := map[string]string{
		"plain":           "plain",
		"$(A)":            "1",
		"x$(A)y$(A)":      "x1y1",
		"$(B)":            "$(A)", // no recursive expansion
		"$$(A)":           "$(A)",
		"$$":              "$",
		"$(MISSING)":      "$(MISSING)",
		"$(EMPTY)z":       "z",
		"$(A":             "$(A",
		"$":               "$",
		"a$b":             "a$b",
		"$()":             "$()",
		"$(A)$(MISSING)$": "1$(MISSING)$",
	}
	for in, want := range tests {
		if got := Expand(in, lookup); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"$(A)", "$$", "$(", "x$(A)$", "$$$(A)", "(A)$"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		none := func(string) (string, bool) { return "", false }
		if got := Expand(s, none); strings.Count(got, "$") > strings.Count(s, "$") {
			t.Fatalf("Expand(%q) = %q added dollars", s, got)
		}
		same := func(k string) (string, bool) { return "$(" + k + ")", true }
		if !strings.Contains(s, "$$") && Expand(s, same) != s {
			t.Fatalf("identity expansion changed %q to %q", s, Expand(s, same))
		}
	})
}

func TestParseDockerConfig(t *testing.T) {
	auth := base64.StdEncoding.EncodeToString([]byte("alice:pw:with:colons"))
	tests := []struct {
		name string
		typ  corev1.SecretType
		data map[string][]byte
		want []providers.RegistryCredential
		err  string
	}{
		{"dockerconfigjson with auth", corev1.SecretTypeDockerConfigJson,
			map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"b.io":{"auth":"` + auth + `"},"a.io":{"username":"u","password":"p"}}}`)},
			[]providers.RegistryCredential{{Server: "a.io", Username: "u", Password: "p"}, {Server: "b.io", Username: "alice", Password: "pw:with:colons"}}, ""},
		{"dockercfg", corev1.SecretTypeDockercfg,
			map[string][]byte{corev1.DockerConfigKey: []byte(`{"c.io":{"username":"u","password":"p"}}`)},
			[]providers.RegistryCredential{{Server: "c.io", Username: "u", Password: "p"}}, ""},
		{"malformed", corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths": s3cret`)}, nil, "malformed"},
		{"bad auth", corev1.SecretTypeDockerConfigJson,
			map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"a":{"auth":"!!s3cret"}}}`)}, nil, "malformed auth"},
		{"opaque", corev1.SecretTypeOpaque, nil, nil, "not an image pull secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDockerConfig(tc.typ, tc.data)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "s3cret") {
					t.Fatalf("error %v, want %q without the secret", err, tc.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func FuzzParseDockerConfig(f *testing.F) {
	f.Add(`{"auths":{"a":{"username":"u","password":"p"}}}`)
	f.Add(`{"auths":{"a":{"auth":"dTpw"}}}`)
	f.Add(`{"auths":null}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		creds, err := ParseDockerConfig(corev1.SecretTypeDockerConfigJson, map[string][]byte{corev1.DockerConfigJsonKey: []byte(s)})
		if err != nil {
			if strings.Contains(err.Error(), s) && len(s) > 8 {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		for i := 1; i < len(creds); i++ {
			if creds[i-1].Server >= creds[i].Server {
				t.Fatalf("servers not sorted: %+v", creds)
			}
		}
	})
}

func TestPullSecrets(t *testing.T) {
	pod := basePod()
	pod.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "reg"}, {Name: "missing"}, {Name: "creds"}}
	obj := testObjects()
	obj.secrets["ns/reg"] = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "reg"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"r.io":{"username":"u","password":"p"}}}`)}}
	creds, warnings := PullSecrets(context.Background(), pod, obj)
	if len(creds) != 1 || creds[0].Server != "r.io" || len(warnings) != 2 {
		t.Fatalf("creds %+v warnings %v", creds, warnings)
	}
}
