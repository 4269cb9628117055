package decode

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// testConfig exercises every field type and option.
type testConfig struct {
	Host     string            `surge:"host,required,from=meta|auth|env,secret=userinfo"`
	Mode     string            `surge:"mode,default=QueueLength,enum=QueueLength|MessageRate"`
	Value    float64           `surge:"value,default=20,gt=0"`
	Pages    int64             `surge:"pageSize,default=100,min=1,max=500"`
	Small    int32             `surge:"small"`
	Plain    int               `surge:"plain"`
	Regex    bool              `surge:"useRegex"`
	Timeout  time.Duration     `surge:"timeout"`
	Topics   []string          `surge:"topic"`
	Headers  map[string]string `surge:"customHeaders"`
	Vhost    string            `surge:"vhostName,from=meta|auth,alias=vHostName"`
	Old      float64           `surge:"queueLength,deprecated=use mode and value"`
	Password string            `surge:"password,from=auth|env,secret"`
	Token    string            `surge:"workloadIdentityResource,from=auth,unsupported=cloud identities"`
	Keytab   string            `surge:"keytab,from=meta|auth,unsupported=Kerberos, GSSAPI"`
	embedded
	derived string
}

type embedded struct {
	TLS string `surge:"tls,from=meta|auth,default=disable,enum=enable|disable"`
}

func (c *testConfig) Validate() error {
	c.derived = c.Host
	if c.Regex && c.Mode != "QueueLength" {
		return Invalid("useRegex", "true", "needs mode QueueLength", "false")
	}
	if c.Password == "boom" {
		return errors.Join(Invalid("password", c.Password, "is boom", "anything else"),
			Unsupported("tls", c.TLS, "pretend"))
	}
	return nil
}

func spec(meta, auth, env map[string]string) trigger.Spec {
	return trigger.Spec{Type: "test", Name: "t1", Metadata: meta, AuthParams: auth, Env: env}
}

func TestDecodeValues(t *testing.T) {
	cases := []struct {
		name string
		spec trigger.Spec
		want testConfig
		warn []string
	}{{
		name: "defaults",
		spec: spec(map[string]string{"host": "amqp://h"}, nil, nil),
		want: testConfig{Host: "amqp://h", Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "amqp://h"},
	}, {
		name: "every type",
		spec: spec(map[string]string{
			"host": " amqp://h ", "mode": "QueueLength", "value": "2.5", "pageSize": "7", "small": "-3",
			"plain": "9", "useRegex": "true", "timeout": "1500", "topic": "a, b,,c",
			"customHeaders": "X-A=1, X-B = two", "tls": "enable",
		}, nil, nil),
		want: testConfig{Host: "amqp://h", Mode: "QueueLength", Value: 2.5, Pages: 7, Small: -3, Plain: 9,
			Regex: true, Timeout: 1500 * time.Millisecond, Topics: []string{"a", "b", "c"},
			Headers: map[string]string{"X-A": "1", "X-B": "two"}, embedded: embedded{TLS: "enable"}, derived: "amqp://h"},
	}, {
		name: "go duration",
		spec: spec(map[string]string{"host": "h", "timeout": "2s"}, nil, nil),
		want: testConfig{Host: "h", Mode: "QueueLength", Value: 20, Pages: 100, Timeout: 2 * time.Second, embedded: embedded{TLS: "disable"}, derived: "h"},
	}, {
		name: "metadata wins over auth",
		spec: spec(map[string]string{"host": "meta"}, map[string]string{"host": "auth", "vhostName": "v"}, nil),
		want: testConfig{Host: "meta", Vhost: "v", Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "meta"},
	}, {
		name: "auth then env",
		spec: spec(map[string]string{"hostFromEnv": "H", "passwordFromEnv": "P"}, map[string]string{"host": "auth"}, map[string]string{"H": "env", "P": "pw"}),
		want: testConfig{Host: "auth", Password: "pw", Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "auth"},
	}, {
		name: "env",
		spec: spec(map[string]string{"hostFromEnv": "H"}, nil, map[string]string{"H": "from-env"}),
		want: testConfig{Host: "from-env", Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "from-env"},
	}, {
		name: "empty counts as absent",
		spec: spec(map[string]string{"host": "h", "mode": "  ", "value": ""}, nil, nil),
		want: testConfig{Host: "h", Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "h"},
	}, {
		name: "alias and deprecated warn",
		spec: spec(map[string]string{"host": "h", "vHostName": "/", "queueLength": "5"}, nil, nil),
		want: testConfig{Host: "h", Vhost: "/", Old: 5, Mode: "QueueLength", Value: 20, Pages: 100, embedded: embedded{TLS: "disable"}, derived: "h"},
		warn: []string{`test trigger "t1": key "queueLength" is deprecated: use mode and value`,
			`test trigger "t1": key "vHostName" is a deprecated spelling: use "vhostName"`},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got testConfig
			warn, err := Decode(tc.spec, &got)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if strings.Join(sorted(warn), "\n") != strings.Join(sorted(tc.warn), "\n") {
				t.Errorf("warnings %q, want %q", warn, tc.warn)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		spec trigger.Spec
		// want are substrings each error text must contain, one slice per error.
		want    [][]string
		notWant []string
	}{{
		name: "missing required",
		spec: spec(nil, nil, nil),
		want: [][]string{{`test trigger "t1": key "host": is required; allowed: set it in metadata, a TriggerAuthentication parameter or hostFromEnv`}},
	}, {
		name: "unknown key with suggestion",
		spec: spec(map[string]string{"host": "h", "queueLenght": "x"}, nil, nil),
		want: [][]string{{`key "queueLenght": unknown key (did you mean "queueLength"?)`, "allowed: customHeaders, host, hostFromEnv,", "vhostName"}},
	}, {
		name: "case typo suggestion",
		spec: spec(map[string]string{"host": "h", "PageSize": "3"}, nil, nil),
		want: [][]string{{`unknown key (did you mean "pageSize"?)`}},
	}, {
		name: "enum",
		spec: spec(map[string]string{"host": "h", "mode": "queuelength"}, nil, nil),
		want: [][]string{{`key "mode": value "queuelength": not an allowed value; allowed: QueueLength, MessageRate`}},
	}, {
		name: "bounds",
		spec: spec(map[string]string{"host": "h", "value": "0", "pageSize": "501"}, nil, nil),
		want: [][]string{{`key "pageSize": value "501": out of range; allowed: a number >= 1 and <= 500`},
			{`key "value": value "0": out of range; allowed: a number > 0`}},
	}, {
		name: "bad numbers",
		spec: spec(map[string]string{"host": "h", "value": "NaN", "small": "99999999999", "plain": "1.5", "useRegex": "yes", "timeout": "-1s"}, nil, nil),
		want: [][]string{{`key "plain": value "1.5": not a whole number`}, {`key "small"`, "not a whole number"},
			{`key "timeout": value "-1s": negative duration`}, {`key "useRegex": value "yes": not a boolean; allowed: true, false`},
			{`key "value": value "NaN": not a finite number`}},
	}, {
		name: "bad map",
		spec: spec(map[string]string{"host": "h", "customHeaders": "novalue"}, nil, nil),
		want: [][]string{{`key "customHeaders"`, "not a list of key=value pairs"}},
	}, {
		name:    "secret in metadata is refused and not printed",
		spec:    spec(map[string]string{"host": "h", "password": "hunter2"}, nil, nil),
		want:    [][]string{{`key "password": value "<redacted>": may not be set in metadata; allowed: set it in a TriggerAuthentication parameter or passwordFromEnv`}},
		notWant: []string{"hunter2"},
	}, {
		name:    "auth value is redacted",
		spec:    spec(map[string]string{"host": "h"}, map[string]string{"tls": "sekrit"}, nil),
		want:    [][]string{{`key "tls": value "<redacted>": not an allowed value (from TriggerAuthentication); allowed: enable, disable`}},
		notWant: []string{"sekrit"},
	}, {
		name: "userinfo redacted",
		spec: spec(map[string]string{"host": "amqp://u:pw@h/v", "useRegex": "true", "mode": "MessageRate"}, nil, nil),
		want: [][]string{{`key "useRegex": value "true": needs mode QueueLength`}},
	}, {
		name:    "validate redacts secrets",
		spec:    spec(map[string]string{"host": "h", "passwordFromEnv": "P"}, nil, map[string]string{"P": "boom"}),
		want:    [][]string{{`key "password": value "<redacted>": is boom`}, {`key "tls": value "disable": not supported by surge: pretend`}},
		notWant: []string{`"boom"`},
	}, {
		name: "env var missing",
		spec: spec(map[string]string{"hostFromEnv": "NOPE"}, nil, map[string]string{}),
		want: [][]string{{`key "hostFromEnv": value "NOPE": names an environment variable the scale target's container does not set`}},
	}, {
		name: "unsupported from auth",
		spec: spec(map[string]string{"host": "h"}, map[string]string{"workloadIdentityResource": "abc"}, nil),
		want: [][]string{{`key "workloadIdentityResource": value "<redacted>": not supported by surge: cloud identities`}},
	}, {
		name: "unsupported auth-only key in metadata",
		spec: spec(map[string]string{"host": "h", "workloadIdentityResource": "abc"}, nil, nil),
		want: [][]string{{`key "workloadIdentityResource"`, "not supported by surge: cloud identities"}},
	}, {
		name: "unsupported from metadata",
		spec: spec(map[string]string{"host": "h", "keytab": "k"}, nil, nil),
		want: [][]string{{`key "keytab": value "k": not supported by surge: Kerberos, GSSAPI`}},
	}, {
		name: "every problem at once",
		spec: spec(map[string]string{"mode": "x", "bogus": "1"}, nil, nil),
		want: [][]string{{`key "bogus": unknown key`}, {`key "host": is required`}, {`key "mode": value "x"`}},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got testConfig
			_, err := Decode(tc.spec, &got)
			if err == nil {
				t.Fatal("Decode succeeded, want an error")
			}
			list := err.(interface{ Unwrap() []error }).Unwrap()
			if len(list) != len(tc.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(list), len(tc.want), err)
			}
			for i, e := range list {
				var fe *FieldError
				if !errors.As(e, &fe) {
					t.Errorf("error %d is %T, want *FieldError", i, e)
				}
				for _, w := range tc.want[i] {
					if !strings.Contains(e.Error(), w) {
						t.Errorf("error %d = %q\nwant it to contain %q", i, e, w)
					}
				}
			}
			for _, nw := range append(tc.notWant, "pw@") {
				if strings.Contains(err.Error(), nw) {
					t.Errorf("error %q contains %q", err, nw)
				}
			}
		})
	}
}

type badDefault struct {
	X int `surge:"x,default=abc"`
}
type badOption struct {
	X int `surge:"x,wat"`
}
type badType struct {
	X []int `surge:"x"`
}
type dupKey struct {
	A string `surge:"a"`
	B string `surge:"b,alias=a"`
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name   string
		config any
		ok     bool
	}{
		{"good", &testConfig{}, true},
		{"bad default", &badDefault{}, false},
		{"bad option", &badOption{}, false},
		{"bad type", &badType{}, false},
		{"duplicate key", &dupKey{}, false},
		{"not a pointer", testConfig{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Check(tc.config); (err == nil) != tc.ok {
				t.Errorf("Check = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	keys, err := Keys(&testConfig{})
	if err != nil {
		t.Fatal(err)
	}
	want := "customHeaders host hostFromEnv keytab mode pageSize passwordFromEnv plain queueLength small timeout tls topic useRegex value vhostName"
	if got := strings.Join(keys, " "); got != want {
		t.Errorf("Keys = %s\nwant   %s", got, want)
	}
}

func TestLabel(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"clean", "rabbitmq-orders", "rabbitmq-orders"},
		{"rewritten gets hash", "rabbitmq-Orders.EU", "rabbitmq-orders-eu-"},
		{"only symbols", "***", "x-"},
		{"long", strings.Repeat("a", 100), strings.Repeat("a", 54) + "-"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Label(tc.in)
			if !strings.HasPrefix(got, tc.want) || len(got) > 63 {
				t.Errorf("Label(%q) = %q, want prefix %q and len <= 63", tc.in, got, tc.want)
			}
		})
	}
	if Label("a.b") == Label("a_b") {
		t.Error("Label must keep a.b and a_b apart")
	}
}

func TestRedactURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"amqp://u:p@h:5672/v", "amqp://<redacted>@h:5672/v"},
		{"amqp://u:p#/@x@h", "amqp://<redacted>@h"},
		{"http://h:15672/", "http://h:15672/"},
		{"u:p@h", "<redacted>@h"},
	}
	for _, tc := range cases {
		if got := RedactURL(tc.in); got != tc.want {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
