package decode

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// Validator is implemented by configs with cross-field rules. Decode calls Validate
// after every field decoded cleanly. Validate may fill derived (untagged) fields and
// should report problems with Invalid or Unsupported (several may be joined with
// errors.Join).
type Validator interface {
	Validate() error
}

// decoder holds the state of one Decode call.
type decoder struct {
	spec     trigger.Spec
	plan     *plan
	errs     []error
	warnings []string
	// source records where each canonical key's value came from.
	source map[string]Source
}

// Decode fills out (a pointer to a config struct with surge tags) from spec and
// returns the warnings (deprecated spellings mapped) and every problem found, joined;
// each problem is a *FieldError. Decode never modifies spec's maps.
func Decode(spec trigger.Spec, out any) ([]string, error) {
	rv := reflect.ValueOf(out)
	if rv.Kind() != reflect.Pointer || rv.IsNil() || rv.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("decode: out must be a non-nil pointer to a struct, got %T", out)
	}
	p, err := planFor(rv.Elem().Type())
	if err != nil {
		return nil, err
	}
	d := &decoder{spec: spec, plan: p, source: map[string]Source{}}
	d.checkMetadataKeys()
	for _, f := range p.fields {
		d.decodeField(f, rv.Elem().FieldByIndex(f.index))
	}
	if len(d.errs) == 0 {
		if v, ok := out.(Validator); ok {
			d.addValidateErrors(v.Validate())
		}
	}
	return d.warnings, d.joined()
}

func (d *decoder) fail(e *FieldError) {
	e.TriggerType, e.TriggerName = d.spec.Type, d.spec.Name
	d.errs = append(d.errs, e)
}

func (d *decoder) warn(format string, args ...any) {
	prefix := d.spec.Type + " trigger"
	if d.spec.Name != "" {
		prefix += fmt.Sprintf(" %q", d.spec.Name)
	}
	d.warnings = append(d.warnings, prefix+": "+fmt.Sprintf(format, args...))
}

func (d *decoder) joined() error {
	if len(d.errs) == 0 {
		return nil
	}
	sort.SliceStable(d.errs, func(i, j int) bool {
		a, b := d.errs[i].(*FieldError), d.errs[j].(*FieldError)
		return a.Key < b.Key
	})
	return errors.Join(d.errs...)
}

// checkMetadataKeys reports metadata keys that are unknown or not allowed there.
func (d *decoder) checkMetadataKeys() {
	keys := make([]string, 0, len(d.spec.Metadata))
	for k := range d.spec.Metadata {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if f, ok := d.plan.byKey[k]; ok {
			if !f.allows(FromMeta) && f.unsupported != "" {
				d.fail(&FieldError{Key: k, Value: shown(f, FromAuth, "x"), Unsupported: true,
					Reason: "not supported by surge: " + f.unsupported})
				continue
			}
			if !f.allows(FromMeta) {
				d.fail(&FieldError{Key: k, Value: shown(f, FromAuth, "x"),
					Reason:  "may not be set in metadata",
					Allowed: "set it in " + sourcesText(f, true)})
			}
			continue
		}
		if _, ok := d.plan.alias[k]; ok {
			continue
		}
		if _, ok := d.plan.envKey[k]; ok {
			continue
		}
		reason := "unknown key"
		if s := suggest(k, d.plan.valid); s != "" {
			reason += fmt.Sprintf(" (did you mean %q?)", s)
		}
		d.fail(&FieldError{Key: k, Reason: reason, Unknown: true,
			Allowed: strings.Join(d.plan.valid, ", ")})
	}
}

// lookup finds f's value by its sources in order; it returns the value, where it came
// from, the key the user wrote, and whether it was found.
func (d *decoder) lookup(f *field) (string, Source, string, bool) {
	for _, src := range f.from {
		switch src {
		case FromMeta:
			if v := strings.TrimSpace(d.spec.Metadata[f.key]); v != "" {
				return v, src, f.key, true
			}
			for _, a := range f.aliases {
				if v := strings.TrimSpace(d.spec.Metadata[a]); v != "" {
					d.warn("key %q is a deprecated spelling: use %q", a, f.key)
					return v, src, a, true
				}
			}
		case FromAuth:
			for _, k := range append([]string{f.key}, f.aliases...) {
				if v := strings.TrimSpace(d.spec.AuthParams[k]); v != "" {
					return v, src, k, true
				}
			}
		case FromEnv:
			envKey := f.key + "FromEnv"
			name := strings.TrimSpace(d.spec.Metadata[envKey])
			if name == "" {
				continue
			}
			v := strings.TrimSpace(d.spec.Env[name])
			if v == "" {
				d.fail(&FieldError{Key: envKey, Value: shown(nil, FromMeta, name),
					Reason:  "names an environment variable the scale target's container does not set",
					Allowed: "the name of a non-empty variable in the container's env or envFrom"})
				return "", src, envKey, false
			}
			return v, src, envKey, true
		}
	}
	return "", 0, "", false
}

// present reports whether f was given in any of its sources (used for unsupported keys).
func (d *decoder) present(f *field) (string, Source, bool) {
	for _, src := range f.from {
		switch src {
		case FromMeta:
			if v := strings.TrimSpace(d.spec.Metadata[f.key]); v != "" {
				return v, src, true
			}
		case FromAuth:
			if v := strings.TrimSpace(d.spec.AuthParams[f.key]); v != "" {
				return v, src, true
			}
		case FromEnv:
			if strings.TrimSpace(d.spec.Metadata[f.key+"FromEnv"]) != "" {
				return "", src, true
			}
		}
	}
	return "", 0, false
}

func (d *decoder) decodeField(f *field, dst reflect.Value) {
	if f.unsupported != "" {
		if v, src, ok := d.present(f); ok {
			d.fail(&FieldError{Key: f.key, Value: shown(f, src, v), Unsupported: true,
				Reason: "not supported by surge: " + f.unsupported})
		}
		return
	}
	raw, src, wrote, ok := d.lookup(f)
	if !ok {
		if wrote != "" { // an env reference that did not resolve: already reported
			return
		}
		if f.hasDefault {
			v, _ := parseValue(f, f.def) // checked when the plan was built
			dst.Set(v)
			return
		}
		if f.required {
			d.fail(&FieldError{Key: f.key, Reason: "is required", Allowed: "set it in " + sourcesText(f, false)})
		}
		return
	}
	d.source[f.key] = src
	if f.deprecated != "" {
		d.warn("key %q is deprecated: %s", wrote, f.deprecated)
	}
	v, err := parseValue(f, raw)
	if err != nil {
		var ve *valueError
		reason, allowed := err.Error(), ""
		if errors.As(err, &ve) {
			reason, allowed = ve.reason, ve.allowed
		}
		if src == FromAuth {
			reason += " (from TriggerAuthentication)"
		}
		d.fail(&FieldError{Key: wrote, Value: shown(f, src, raw), Reason: reason, Allowed: allowed})
		return
	}
	dst.Set(v)
}

// addValidateErrors adds the trigger identity to Validate's errors and redacts values.
func (d *decoder) addValidateErrors(err error) {
	if err == nil {
		return
	}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *FieldError
		if !errors.As(e, &fe) {
			// A bare error from Validate: keep its text, never a value.
			d.fail(&FieldError{Reason: e.Error()})
			continue
		}
		c := *fe
		if c.hasRaw {
			c.Value = shown(d.plan.byKey[c.Key], d.source[c.Key], c.raw)
		}
		c.raw, c.hasRaw = "", false
		d.fail(&c)
	}
}

// sourcesText says where f may be set, e.g. "metadata, a TriggerAuthentication
// parameter, or hostFromEnv".
func sourcesText(f *field, skipMeta bool) string {
	var parts []string
	for _, s := range f.from {
		switch s {
		case FromMeta:
			if !skipMeta {
				parts = append(parts, "metadata")
			}
		case FromAuth:
			parts = append(parts, "a TriggerAuthentication parameter")
		case FromEnv:
			parts = append(parts, f.key+"FromEnv")
		}
	}
	switch len(parts) {
	case 0:
		return "nowhere"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}
