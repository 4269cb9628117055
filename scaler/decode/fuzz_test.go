package decode

import (
	"strings"
	"testing"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// parseKV reads "k=v" lines into a map (the fuzzer's encoding of a metadata map).
func parseKV(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// FuzzDecode feeds arbitrary metadata, auth and env maps to Decode and checks that it
// never panics, that errors are FieldErrors naming the trigger, and that a secret put
// only in TriggerAuthentication never appears in an error.
func FuzzDecode(f *testing.F) {
	f.Add("host=amqp://h\nmode=QueueLength\nvalue=5", "password=s3cretvalue", "")
	f.Add("hostFromEnv=H\npasswordFromEnv=P", "tls=s3cretvalue", "H=x\nP=y")
	f.Add("value=NaN\npageSize=-1\ntimeout=1e9999\ncustomHeaders==", "host=s3cretvalue", "")
	f.Add("vHostName=/\nqueueLength=3\nuseRegex=true\nmode=MessageRate\nhost=h", "keytab=s3cretvalue", "")
	f.Add("topic=,,,\nsmall=2147483648\nplain=0x10", "workloadIdentityResource=s3cretvalue", "")
	f.Fuzz(func(t *testing.T, meta, auth, env string) {
		authMap := parseKV(auth)
		s := trigger.Spec{Type: "fuzz", Name: "n", Metadata: parseKV(meta), AuthParams: authMap, Env: parseKV(env)}
		var c testConfig
		_, err := Decode(s, &c)
		if err == nil {
			return
		}
		msg := err.Error()
		if !strings.Contains(msg, `fuzz trigger "n"`) {
			t.Fatalf("error does not name the trigger: %q", msg)
		}
		for _, secret := range authMap {
			secret = strings.TrimSpace(secret)
			if len(secret) < 6 || strings.Contains(meta, secret) || strings.Contains(env, secret) {
				continue // too short to judge, or the user also wrote it in plain sight
			}
			if strings.Contains(msg, secret) && !strings.Contains(templateText, secret) {
				t.Fatalf("error prints auth value %q: %q", secret, msg)
			}
		}
	})
}

// templateText is fixed text errors may contain; a "secret" that is a substring of it
// proves nothing.
var templateText = strings.Join([]string{
	"not supported by surge: cloud identities Kerberos pretend may not be set in metadata",
	"allowed: set it in a TriggerAuthentication parameter or passwordFromEnv hostFromEnv",
	"not an allowed value (from TriggerAuthentication) enable, disable QueueLength, MessageRate",
	"customHeaders, host, hostFromEnv, keytab, mode, pageSize, passwordFromEnv, plain, queueLength, small, timeout, tls, topic, useRegex, value, vhostName",
	"unknown key (did you mean names an environment variable the scale target's container does not set",
	"the name of a non-empty variable in the container's env or envFrom is required needs mode is boom anything else",
	`fuzz trigger "n": key value <redacted> out of range not a whole number not a finite number not a boolean true, false`,
}, " ")
