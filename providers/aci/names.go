package aci

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/surge-autoscaler/surge/providers"
)

// Tags every container group created by this backend carries. ARM tag names may not
// contain '/', so these are not Kubernetes-style label keys.
const (
	// TagNamespace holds the pod's namespace.
	TagNamespace = "surge-pod-namespace"
	// TagName holds the pod's name.
	TagName = "surge-pod-name"
	// TagUID holds the pod's UID; it is what makes Create idempotent and lets a
	// restarted surge-vnode re-adopt its groups.
	TagUID = "surge-pod-uid"
	// TagOwner holds Options.Owner; List ignores groups with another owner, so
	// several surge-vnodes can share one resource group.
	TagOwner = "surge-owner"
	// TagCreated holds the creation time (RFC 3339); ARM's container group model
	// has no creation timestamp of its own.
	TagCreated = "surge-created"
)

// maxNameLen is ACI's limit for container group and container names.
const maxNameLen = 63

// uidHashLen is the number of hex digits of the UID's hash in a group name.
const uidHashLen = 10

// GroupName returns the container group name for a pod: the sanitized
// "<namespace>-<name>" cut to fit, a hyphen and 10 hex digits of the SHA-256 of
// the UID. It always satisfies ACI's rules (1-63 characters, lowercase letters,
// digits and single hyphens, starting and ending with a letter or digit), the
// same ref always gives the same name, and a pod re-created under the same name
// with a new UID gets a different group, so it never collides with a group that
// is still being deleted.
func GroupName(ref providers.InstanceRef) string {
	sum := sha256.Sum256([]byte(ref.UID))
	suffix := hex.EncodeToString(sum[:])[:uidHashLen]
	base := sanitizeName(ref.Namespace + "-" + ref.Name)
	if limit := maxNameLen - 1 - uidHashLen; len(base) > limit {
		base = strings.TrimRight(base[:limit], "-")
	}
	if base == "" {
		return "pod-" + suffix
	}
	return base + "-" + suffix
}

// sanitizeName lowercases s, maps every character outside [a-z0-9] to '-',
// collapses runs of '-' and trims them from both ends.
func sanitizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
			continue
		}
		if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimRight(b.String(), "-")
}

// validName reports whether s is a valid ACI container group or container name:
// 1-63 lowercase letters, digits and hyphens, starting and ending with a letter or
// digit, with no two hyphens in a row.
func validName(s string) bool {
	if len(s) == 0 || len(s) > maxNameLen || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' {
			return false
		}
	}
	return true
}

// groupTags returns the tags for a new group.
func groupTags(ref providers.InstanceRef, owner string, created time.Time) map[string]*string {
	return map[string]*string{
		TagNamespace: ptr(ref.Namespace),
		TagName:      ptr(ref.Name),
		TagUID:       ptr(ref.UID),
		TagOwner:     ptr(owner),
		TagCreated:   ptr(created.UTC().Format(time.RFC3339)),
	}
}

// refFromTags reads the pod reference back from a group's tags; ok is false when
// the group lacks them (it was not created by this backend).
func refFromTags(tags map[string]*string) (ref providers.InstanceRef, ok bool) {
	ref = providers.InstanceRef{
		Namespace: deref(tags[TagNamespace]),
		Name:      deref(tags[TagName]),
		UID:       deref(tags[TagUID]),
	}
	return ref, ref.Namespace != "" && ref.Name != "" && ref.UID != ""
}

// createdFromTags reads TagCreated; zero if absent or malformed.
func createdFromTags(tags map[string]*string) time.Time {
	t, err := time.Parse(time.RFC3339, deref(tags[TagCreated]))
	if err != nil {
		return time.Time{}
	}
	return t
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
