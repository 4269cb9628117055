package aci

import (
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

func TestGroupName(t *testing.T) {
	const uid = "6f1d7c3e-0000-4000-8000-000000000001"
	hash := GroupName(providers.InstanceRef{UID: uid})[len("pod-"):]
	tests := []struct {
		name string
		ref  providers.InstanceRef
		want string
	}{
		{"plain", providers.InstanceRef{Namespace: "default", Name: "worker-7d9f", UID: uid}, "default-worker-7d9f-" + hash},
		{"dots and case", providers.InstanceRef{Namespace: "Team.A", Name: "My_Pod.v2", UID: uid}, "team-a-my-pod-v2-" + hash},
		{"runs of invalid characters collapse", providers.InstanceRef{Namespace: "ns", Name: "a..--__b", UID: uid}, "ns-a-b-" + hash},
		{"leading and trailing junk", providers.InstanceRef{Namespace: "-ns-", Name: "pod-", UID: uid}, "ns-pod-" + hash},
		{"nothing usable", providers.InstanceRef{Namespace: "..", Name: "__", UID: uid}, "pod-" + hash},
		{"long names are cut without a trailing hyphen", providers.InstanceRef{Namespace: "n", Name: strings.Repeat("a", 49) + "-" + strings.Repeat("b", 40), UID: uid},
			"n-" + strings.Repeat("a", 49) + "-" + hash},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := GroupName(tc.ref)
			if got != tc.want {
				t.Fatalf("GroupName(%+v) = %q, want %q", tc.ref, got, tc.want)
			}
			if !validName(got) {
				t.Fatalf("GroupName(%+v) = %q is not a valid ACI name", tc.ref, got)
			}
		})
	}
}

func TestGroupNameDependsOnUID(t *testing.T) {
	a := GroupName(providers.InstanceRef{Namespace: "ns", Name: "web-0", UID: "uid-1"})
	b := GroupName(providers.InstanceRef{Namespace: "ns", Name: "web-0", UID: "uid-2"})
	if a == b {
		t.Fatalf("a pod re-created with a new UID got the same group name %q", a)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"main", true}, {"a", true}, {"a-b-1", true}, {strings.Repeat("a", 63), true},
		{"", false}, {strings.Repeat("a", 64), false}, {"-a", false}, {"a-", false},
		{"a--b", false}, {"Main", false}, {"a_b", false}, {"a.b", false},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := validName(tc.in); got != tc.want {
				t.Fatalf("validName(%q) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

func TestTagsRoundTrip(t *testing.T) {
	ref := providers.InstanceRef{Namespace: "ns", Name: "pod", UID: "u-1"}
	at := time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC)
	tags := groupTags(ref, "vnode-a", at)
	got, ok := refFromTags(tags)
	if !ok || got != ref {
		t.Fatalf("refFromTags = %+v, %v; want %+v", got, ok, ref)
	}
	if c := createdFromTags(tags); !c.Equal(at) {
		t.Fatalf("createdFromTags = %v, want %v", c, at)
	}
	for k := range tags {
		if strings.ContainsAny(k, "<>%&\\?/") {
			t.Fatalf("tag name %q has a character ARM refuses", k)
		}
	}
	delete(tags, TagUID)
	if _, ok := refFromTags(tags); ok {
		t.Fatalf("refFromTags accepted tags without a UID")
	}
}

// FuzzGroupName checks that any pod reference gives a valid, stable name.
func FuzzGroupName(f *testing.F) {
	f.Add("default", "worker-1", "6f1d7c3e-0000-4000-8000-000000000001")
	f.Add("Ünïcode", "pöd..名前", "x")
	f.Add("", "", "")
	f.Add(strings.Repeat("-", 70), strings.Repeat("a-", 200), "uid")
	f.Fuzz(func(t *testing.T, ns, name, uid string) {
		ref := providers.InstanceRef{Namespace: ns, Name: name, UID: uid}
		got := GroupName(ref)
		if !validName(got) {
			t.Fatalf("GroupName(%+v) = %q is not a valid ACI name", ref, got)
		}
		if again := GroupName(ref); again != got {
			t.Fatalf("GroupName is not deterministic: %q then %q", got, again)
		}
	})
}
