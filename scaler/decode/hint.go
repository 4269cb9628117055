package decode

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxLabel is the longest label Label returns (a DNS label).
const maxLabel = 63

// Label joins parts with '-' into a DNS-label-safe string (lowercase a-z, 0-9 and
// '-', no leading or trailing '-', at most 63 bytes) for [trigger.Built.MetricHint].
// Runs of other characters become one '-'. A label that had to be shortened or
// rewritten ends in 8 hex digits of a hash of the input, so different inputs stay
// different (e.g. queues "a.b" and "a_b").
func Label(parts ...string) string {
	in := strings.Join(parts, "-")
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(in) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = true
		}
	}
	out := strings.Trim(b.String(), "-")
	if out == in && len(out) <= maxLabel && out != "" {
		return out
	}
	sum := sha256.Sum256([]byte(in))
	h := hex.EncodeToString(sum[:4])
	if len(out) > maxLabel-len(h)-1 {
		out = strings.TrimRight(out[:maxLabel-len(h)-1], "-")
	}
	if out == "" {
		return "x-" + h
	}
	return out + "-" + h
}
