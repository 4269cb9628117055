// Package hpa builds the autoscaling/v2 HorizontalPodAutoscaler a ScaledObject owns,
// and the stable names and labels of its External metrics. Everything here is pure.
package hpa

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// Labels shared by the HPA, its metric selectors and the sample store.
const (
	// LabelScaledObject carries the ScaledObject's name (see SelectorValue) on each
	// External metric's selector and on the samples the metrics API matches.
	LabelScaledObject = "scaledobject.surge.dev/name"
	// LabelManagedBy marks objects surge-scaler owns.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedBy is LabelManagedBy's value.
	ManagedBy = "surge-scaler"
)

const (
	maxIdent  = 32
	maxObject = 20
	hashLen   = 8
	maxLabel  = 63
)

// TriggerIdent is a trigger's identity within its ScaledObject: its name when given,
// else its type and what it measures ("rabbitmq" + "orders" hint). Never its index,
// so reordering triggers keeps metric names. Two triggers with the same identity are
// a spec error the controller reports.
func TriggerIdent(name, typ, hint string) string {
	if name != "" {
		return name
	}
	if hint == "" {
		return typ
	}
	if strings.HasPrefix(hint, typ) {
		return hint
	}
	return typ + "-" + hint
}

// MetricName is the External metric name of one trigger: DNS-label safe, at most 62
// characters, readable (identity and object name) and unique per namespace, object
// and identity (a hash of all three).
func MetricName(namespace, object, ident string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + object + "/" + ident))
	h := hex.EncodeToString(sum[:])[:hashLen]
	id := sanitize(ident, maxIdent)
	if id == "" {
		id = "trigger"
	}
	obj := sanitize(object, maxObject)
	if obj == "" {
		return id + "-" + h
	}
	return id + "-" + obj + "-" + h
}

// SelectorValue is the label value for LabelScaledObject: the object's name when it
// is a valid label value (object names are DNS subdomains, so only length can fail),
// else a truncated name with a hash.
func SelectorValue(object string) string {
	if len(object) <= maxLabel {
		return object
	}
	sum := sha256.Sum256([]byte(object))
	return strings.TrimRight(object[:maxLabel-hashLen-1], "-.") + "-" + hex.EncodeToString(sum[:])[:hashLen]
}

// Labels are the labels on each External metric's selector and sample.
func Labels(object string) map[string]string {
	return map[string]string{LabelScaledObject: SelectorValue(object)}
}

// sanitize lower-cases s, maps every character outside [a-z0-9] to '-', collapses
// runs of '-', trims them from both ends and cuts to n characters.
func sanitize(s string, n int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= n {
			break
		}
	}
	return strings.Trim(b.String(), "-")
}
