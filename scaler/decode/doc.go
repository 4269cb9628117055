// Package decode is the one metadata decoder every trigger uses. A trigger declares
// a typed config struct; struct tags say where each key may come from, its default,
// what values are allowed and whether it is a secret. Decode fills the struct from a
// [trigger.Spec] (metadata, TriggerAuthentication parameters, the scale target's
// container environment) and returns every problem at once as FieldErrors that name
// the trigger, the key, the bad value (redacted when secret) and what is allowed.
//
// # Tag format
//
// The tag format lives here and nowhere else:
//
//	Field T `surge:"key[,option]..."`
//
// Options:
//
//	required            the key must be given (after applying its sources).
//	default=V           value used when the key is absent (parsed like user input).
//	from=S1|S2|...      sources in order of precedence; S is one of
//	                      meta  the trigger's metadata map (the default),
//	                      auth  the TriggerAuthentication parameters,
//	                      env   the metadata key "<key>FromEnv" names an environment
//	                            variable of the scale target's container.
//	enum=a|b|c          allowed values (exact spelling).
//	min=N, max=N        inclusive numeric bounds; gt=N is an exclusive lower bound.
//	sep=C               separator for list ([]string) and map values (default ",").
//	alias=old1|old2     other spellings KEDA accepts: in metadata with a warning naming
//	                    the spelling to use, in TriggerAuthentication silently.
//	deprecated=MSG      the key is accepted but deprecated: a warning carries MSG.
//	unsupported=MSG     the key is a KEDA feature surge does not implement: giving it
//	                    (in any of its sources) is an error that says so, with MSG.
//	                    deprecated= and unsupported= come last in a tag: their
//	                    message runs to the end of the tag and may contain commas.
//	secret              the value is never printed (errors say "<redacted>").
//	secret=userinfo     the value is a URL: errors print it without its userinfo.
//
// Values from TriggerAuthentication parameters are always treated as secret.
// Values are trimmed; an empty value counts as absent, as in KEDA.
//
// Supported field types: string, bool, int, int32, int64, float64 (NaN and ±Inf are
// rejected), time.Duration (a Go duration such as "30s", or a whole number of
// milliseconds, as KEDA reads "timeout"), []string (split on sep, empty elements
// dropped), map[string]string ("k1=v1,k2=v2"). Untagged fields are left alone, so a
// config can hold derived values; anonymous embedded structs are flattened.
//
// Unknown metadata keys are an error listing the valid keys (with a suggestion when
// one is close). Unknown TriggerAuthentication parameters are ignored, because one
// TriggerAuthentication may serve several trigger types, as in KEDA.
//
// After decoding, Decode calls Validate() on the config if it implements Validator;
// Validate reports cross-field problems with Invalid, and Decode adds the trigger's
// identity and redacts the value when the key is secret or came from auth.
package decode
