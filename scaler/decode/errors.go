package decode

import (
	"fmt"
	"strings"
)

// Redacted is printed in place of a secret value.
const Redacted = "<redacted>"

// maxShown is how many bytes of a value an error prints before eliding the rest.
const maxShown = 96

// FieldError is one problem with one key of one trigger. Its Error text names the
// trigger (type and name), the key, the bad value (redacted when secret) and what is
// allowed.
type FieldError struct {
	// TriggerType and TriggerName identify the trigger (TriggerName may be "").
	TriggerType, TriggerName string
	// Key is the metadata key (or TriggerAuthentication parameter) at fault.
	Key string
	// Value is the offending value as it may be printed: empty when the key is
	// missing, Redacted (or a URL without its userinfo) when secret.
	Value string
	// Reason says what is wrong, Allowed what would be accepted.
	Reason, Allowed string
	// Unknown is set for a metadata key the trigger does not know.
	Unknown bool
	// Unsupported is set for a KEDA feature surge does not implement.
	Unsupported bool

	// raw is set by Invalid: the value as Validate saw it, redacted by Decode.
	raw    string
	hasRaw bool
}

// Error implements error.
func (e *FieldError) Error() string {
	var b strings.Builder
	b.WriteString(e.TriggerType)
	b.WriteString(" trigger")
	if e.TriggerName != "" {
		fmt.Fprintf(&b, " %q", e.TriggerName)
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": key %q", e.Key)
	}
	if e.Value != "" {
		fmt.Fprintf(&b, ": value %q", e.Value)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Allowed != "" {
		b.WriteString("; allowed: ")
		b.WriteString(e.Allowed)
	}
	return b.String()
}

// Invalid is what a config's Validate returns for a cross-field problem: key is the
// key at fault, value its value (Decode redacts it when the key is secret or came
// from TriggerAuthentication; pass "" to print none), reason what is wrong and
// allowed what would be accepted.
func Invalid(key, value, reason, allowed string) error {
	return &FieldError{Key: key, Reason: reason, Allowed: allowed, raw: value, hasRaw: value != ""}
}

// Unsupported is what a config's Validate returns for a value that names a KEDA
// feature surge does not implement (e.g. sasl: gssapi).
func Unsupported(key, value, what string) error {
	return &FieldError{Key: key, Reason: "not supported by surge: " + what,
		Unsupported: true, raw: value, hasRaw: value != ""}
}

// shown returns how value may be printed for field f read from source src.
func shown(f *field, src Source, value string) string {
	switch {
	case value == "":
		return ""
	case src == FromAuth || (f != nil && f.secret == secretAll):
		return Redacted
	case f != nil && f.secret == secretUserinfo:
		value = redactUserinfo(value)
	}
	if len(value) > maxShown {
		value = value[:maxShown] + "…"
	}
	return value
}

// redactUserinfo replaces everything between "scheme://" and the last '@' with
// Redacted, so a URL's credentials never print even when the URL does not parse.
func redactUserinfo(s string) string {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return s
	}
	start := 0
	if i := strings.Index(s, "://"); i >= 0 && i < at {
		start = i + 3
	}
	return s[:start] + Redacted + s[at:]
}

// RedactURL returns s with the userinfo of a URL replaced, for trigger packages that
// must mention a URL in a Measure error.
func RedactURL(s string) string { return redactUserinfo(s) }

// suggest returns the valid key closest to k, or "" if none is close.
func suggest(k string, valid []string) string {
	best, bestD := "", 3
	for _, v := range valid {
		if strings.EqualFold(k, v) {
			return v
		}
		if d := distance(strings.ToLower(k), strings.ToLower(v)); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// distance is the Levenshtein distance of a and b, giving up above 3.
func distance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
