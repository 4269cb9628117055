package providers_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/surge-autoscaler/surge/providers"
)

func TestDeepCopySharesNothing(t *testing.T) {
	orig := &providers.InstanceSpec{
		Ref:                 providers.InstanceRef{Namespace: "n", Name: "p", UID: "u"},
		Labels:              map[string]string{"a": "b"},
		RegistryCredentials: []providers.RegistryCredential{{Server: "s", Username: "u", Password: "p"}},
		Containers: []providers.ContainerSpec{{
			Name: "c", Command: []string{"x"}, Args: []string{"y"},
			Env: []providers.EnvVar{{Name: "E", Value: "v"}}, Ports: []providers.Port{{ContainerPort: 80}},
		}},
	}
	c := orig.DeepCopy()
	if !reflect.DeepEqual(orig, c) {
		t.Fatal("copy differs from the original")
	}
	c.Labels["a"] = "changed"
	c.RegistryCredentials[0].Password = "changed"
	c.Containers[0].Command[0] = "changed"
	c.Containers[0].Args[0] = "changed"
	c.Containers[0].Env[0].Value = "changed"
	c.Containers[0].Ports[0].ContainerPort = 1
	c.Containers[0].Name = "changed"
	if orig.Labels["a"] != "b" || orig.RegistryCredentials[0].Password != "p" || orig.Containers[0].Command[0] != "x" ||
		orig.Containers[0].Args[0] != "y" || orig.Containers[0].Env[0].Value != "v" || orig.Containers[0].Ports[0].ContainerPort != 80 ||
		orig.Containers[0].Name != "c" {
		t.Fatalf("changing the copy changed the original: %+v", orig)
	}
	if (*providers.InstanceSpec)(nil).DeepCopy() != nil {
		t.Fatal("nil copy")
	}
	st := providers.InstanceStatus{Containers: []providers.ContainerStatus{{Name: "a"}}}
	sc := st.DeepCopy()
	sc.Containers[0].Name = "b"
	if st.Containers[0].Name != "a" {
		t.Fatal("status copy shares containers")
	}
}

func TestErrorKinds(t *testing.T) {
	base := errors.New("boom")
	tests := []struct {
		kind providers.Kind
		is   func(error) bool
	}{
		{providers.KindNotFound, providers.IsNotFound},
		{providers.KindQuotaExceeded, providers.IsQuotaExceeded},
		{providers.KindUnsupported, providers.IsUnsupported},
		{providers.KindTransient, providers.IsTransient},
	}
	for _, tc := range tests {
		t.Run(string(tc.kind), func(t *testing.T) {
			err := providers.NewError(tc.kind, base)
			wrapped := errors.Join(errors.New("ctx"), err)
			if !tc.is(err) || !tc.is(wrapped) || !errors.Is(err, base) {
				t.Fatalf("%v not recognised as %s", err, tc.kind)
			}
			for _, other := range tests {
				if other.kind != tc.kind && other.is(err) {
					t.Fatalf("%v also recognised as %s", err, other.kind)
				}
			}
		})
	}
}
