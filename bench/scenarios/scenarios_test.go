package scenarios

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/surge-autoscaler/surge/bench/loadgen"
)

// runnerVars are the variables the runner sets.
var runnerVars = map[string]string{
	"NAMESPACE": "ns", "QUEUE": "q", "RESULTS_QUEUE": "r", "AMQP_URL": "amqp://u:p@127.0.0.1:5672/",
	"WORKER_IMAGE": "surge.dev/bench-worker:latest", "SHUTDOWN_GRACE": "20s",
}

func TestBuiltinScenarios(t *testing.T) {
	names := Names()
	for _, want := range []string{"burst", "ramp", "spike-to-100", "scale-in"} {
		found := false
		for _, n := range names {
			found = found || n == want
		}
		if !found {
			t.Errorf("built-in scenario %q missing from %v", want, names)
		}
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			s, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			for _, short := range []bool{false, true} {
				plan := s.Plan(short)
				sched, err := loadgen.Schedule(plan)
				if err != nil || len(sched) == 0 {
					t.Fatalf("short=%v: %d messages, %v", short, len(sched), err)
				}
				if short && s.Short == nil {
					t.Fatal("no short form for CI")
				}
				if short && loadgen.Total(plan) > 30*time.Second {
					t.Fatalf("short form lasts %v, too long for CI", loadgen.Total(plan))
				}
				objs := render(t, s, short)
				kinds := map[string]bool{}
				for _, o := range objs {
					kinds[o.GetKind()] = true
					if o.GetKind() == s.Target.Kind && o.GetName() != s.Target.Name {
						t.Errorf("%s %s is not the target %s", o.GetKind(), o.GetName(), s.Target.Name)
					}
				}
				for _, k := range []string{"ScaledObject", "Deployment", "TriggerAuthentication", "Secret"} {
					if !kinds[k] {
						t.Errorf("no %s among the manifests", k)
					}
				}
			}
		})
	}
}

// render expands and decodes every manifest, as the runner does.
func render(t *testing.T, s *Scenario, short bool) []*unstructured.Unstructured {
	t.Helper()
	vars := s.Variables(short, runnerVars)
	var out []*unstructured.Unstructured
	for _, m := range s.Manifests {
		data, err := Expand(m.Data, vars)
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			var u unstructured.Unstructured
			if err := dec.Decode(&u.Object); err != nil {
				if err.Error() == "EOF" {
					break
				}
				t.Fatalf("%s: %v", m.Name, err)
			}
			if len(u.Object) > 0 {
				out = append(out, &u)
			}
		}
	}
	return out
}

func TestExpand(t *testing.T) {
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "plain", in: "a: ${X}\nb: ${Y_2}", want: "a: 1\nb: two"},
		{name: "missing", in: "a: ${NOPE} ${NOPE} ${ALSO}", wantErr: "${NOPE}, ${ALSO}"},
		{name: "malformed", in: "a: ${lower}", wantErr: "${lower}"},
		{name: "dollar alone", in: "price: $5", want: "price: $5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand([]byte(tt.in), map[string]string{"X": "1", "Y_2": "two", "lower": "x"})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{name: "empty", in: "{}", wantErr: "name is required"},
		{name: "unknown key", in: "name: x\nqueu: y", wantErr: "queu"},
		{name: "bad step", in: "name: x\nqueue: q\ntarget: {apiVersion: v1, kind: K, name: n}\npodSelector: a=b\nload: [{burst: 1, idle: 1s}]", wantErr: "exactly one"},
		{name: "bad duration", in: "name: x\nload: [{idle: soon}]", wantErr: "duration"},
		{name: "bad var", in: "name: x\nqueue: q\ntarget: {apiVersion: v1, kind: K, name: n}\npodSelector: a=b\nload: [{burst: 1}]\nvars: {a-b: c}", wantErr: "var"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadDirectoryAndVariables(t *testing.T) {
	dir := t.TempDir()
	scen := "name: mine\nqueue: q\ntarget: {apiVersion: apps/v1, kind: Deployment, name: w}\npodSelector: app=w\n" +
		"vars: {A: '1', B: '2'}\nload: [{burst: 3}]\nshort: {vars: {B: '20'}, load: [{burst: 1}]}\n"
	if err := os.WriteFile(filepath.Join(dir, "scenario.yaml"), []byte(scen), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "no manifests") {
		t.Fatalf("err = %v, want no manifests", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("kind: ConfigMap"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v := s.Variables(true, map[string]string{"A": "x"}); v["A"] != "x" || v["B"] != "20" {
		t.Fatalf("vars = %v", v)
	}
	if v := s.Variables(false, nil); v["B"] != "2" {
		t.Fatalf("vars = %v", v)
	}
	if p := s.Plan(true); len(p) != 1 || p[0].Burst != 1 {
		t.Fatalf("short plan = %+v", p)
	}
	if _, err := Load("no-such-scenario"); err == nil || !strings.Contains(err.Error(), "burst") {
		t.Fatalf("err = %v, want the built-in names listed", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, n := range Names() {
		b, err := builtin.ReadFile(n + "/scenario.yaml")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nload: [{rate: 1e300, duration: 1h}]"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			return
		}
		if _, err := loadgen.Schedule(s.Plan(false)); err != nil {
			t.Fatalf("accepted a scenario whose plan fails: %v", err)
		}
	})
}
