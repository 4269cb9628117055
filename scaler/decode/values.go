package decode

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// valueError is a parse failure: reason says what is wrong, allowed what is allowed.
type valueError struct {
	reason, allowed string
}

func (e *valueError) Error() string { return e.reason + "; allowed: " + e.allowed }

// parseValue converts s (already trimmed, non-empty) to f's type and checks enum and
// bounds.
func parseValue(f *field, s string) (reflect.Value, error) {
	v := reflect.New(f.typ).Elem()
	if f.enum != nil && !slices.Contains(f.enum, s) {
		return v, &valueError{"not an allowed value", strings.Join(f.enum, ", ")}
	}
	var num float64
	isNum := false
	switch {
	case f.typ == durationType:
		d, err := parseDuration(s)
		if err != nil {
			return v, err
		}
		v.SetInt(int64(d))
	case f.typ == stringsType:
		v.Set(reflect.ValueOf(splitList(s, f.sep)))
	case f.typ == mapType:
		m, err := parseMap(s, f.sep)
		if err != nil {
			return v, err
		}
		v.Set(reflect.ValueOf(m))
	default:
		switch f.typ.Kind() {
		case reflect.String:
			v.SetString(s)
		case reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return v, &valueError{"not a boolean", "true, false"}
			}
			v.SetBool(b)
		case reflect.Int, reflect.Int32, reflect.Int64:
			n, err := strconv.ParseInt(s, 10, f.typ.Bits())
			if err != nil {
				return v, &valueError{"not a whole number", fmt.Sprintf("a whole number%s", boundsText(f))}
			}
			v.SetInt(n)
			num, isNum = float64(n), true
		case reflect.Float64:
			x, err := strconv.ParseFloat(s, 64)
			if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
				return v, &valueError{"not a finite number", fmt.Sprintf("a number such as 10 or 2.5%s", boundsText(f))}
			}
			v.SetFloat(x)
			num, isNum = x, true
		}
	}
	if isNum && !inBounds(f, num) {
		return v, &valueError{"out of range", "a number" + boundsText(f)}
	}
	return v, nil
}

func inBounds(f *field, x float64) bool {
	if f.min != nil && x < *f.min {
		return false
	}
	if f.max != nil && x > *f.max {
		return false
	}
	if f.gt != nil && x <= *f.gt {
		return false
	}
	return true
}

func boundsText(f *field) string {
	var parts []string
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	if f.gt != nil {
		parts = append(parts, "> "+g(*f.gt))
	}
	if f.min != nil {
		parts = append(parts, ">= "+g(*f.min))
	}
	if f.max != nil {
		parts = append(parts, "<= "+g(*f.max))
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " and ")
}

// parseDuration reads a Go duration ("30s") or a whole number of milliseconds, as
// KEDA reads "timeout". Negative durations are rejected.
func parseDuration(s string) (time.Duration, error) {
	bad := &valueError{"not a duration", `a duration such as "3s" or "500ms", or a whole number of milliseconds`}
	d, err := time.ParseDuration(s)
	if err != nil {
		ms, nerr := strconv.ParseInt(s, 10, 64)
		if nerr != nil || ms > math.MaxInt64/int64(time.Millisecond) {
			return 0, bad
		}
		d = time.Duration(ms) * time.Millisecond
	}
	if d < 0 {
		return 0, &valueError{"negative duration", bad.allowed}
	}
	return d, nil
}

func splitList(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseMap(s, sep string) (map[string]string, error) {
	m := map[string]string{}
	for _, p := range splitList(s, sep) {
		k, v, ok := strings.Cut(p, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, &valueError{"not a list of key=value pairs", fmt.Sprintf("pairs such as %q", "k1=v1"+sep+"k2=v2")}
		}
		m[k] = strings.TrimSpace(v)
	}
	if len(m) == 0 {
		return nil, &valueError{"empty list of key=value pairs", fmt.Sprintf("pairs such as %q", "k1=v1"+sep+"k2=v2")}
	}
	return m, nil
}
