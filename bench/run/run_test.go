package run

import (
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/bench/loadgen"
	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/scenarios"
)

func vars(s *scenarios.Scenario, short bool) map[string]string {
	v := s.Variables(short, nil)
	for k, val := range map[string]string{"NAMESPACE": "ns", "QUEUE": s.Queue, "RESULTS_QUEUE": "r",
		"AMQP_URL": "amqp://u:p@127.0.0.1:1/", "WORKER_IMAGE": DefaultWorkerImage, "SHUTDOWN_GRACE": "20s"} {
		v[k] = val
	}
	return v
}

func TestRenderAndSettings(t *testing.T) {
	tests := []struct {
		scenario string
		short    bool
		want     report.Settings
	}{
		{scenario: "burst", want: report.Settings{PollingInterval: time.Second, CooldownPeriod: 5 * time.Second,
			BurstStart: true, MaxReplicas: 30, TriggerValue: "10", Trigger: "rabbitmq"}},
		{scenario: "burst", short: true, want: report.Settings{PollingInterval: time.Second, CooldownPeriod: 5 * time.Second,
			BurstStart: true, MaxReplicas: 5, TriggerValue: "10", Trigger: "rabbitmq"}},
		{scenario: "spike-to-100", want: report.Settings{PollingInterval: time.Second, CooldownPeriod: 5 * time.Second,
			BurstStart: true, MaxReplicas: 100, TriggerValue: "5", Trigger: "rabbitmq"}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			s, err := scenarios.Load(tt.scenario)
			if err != nil {
				t.Fatal(err)
			}
			objs, err := Render(s, vars(s, tt.short))
			if err != nil {
				t.Fatal(err)
			}
			var got report.Settings
			SettingsFromManifests(objs, &got)
			if got.PollingInterval != tt.want.PollingInterval || got.CooldownPeriod != tt.want.CooldownPeriod ||
				got.BurstStart != tt.want.BurstStart || got.MaxReplicas != tt.want.MaxReplicas ||
				got.TriggerValue != tt.want.TriggerValue || got.Trigger != tt.want.Trigger ||
				got.Autoscaler != "surge.dev/v1alpha1 ScaledObject" || got.HPABehavior != "default" {
				t.Fatalf("settings = %+v", got)
			}
			for _, o := range objs {
				if o.GetKind() == "Secret" && !strings.Contains(o.Object["stringData"].(map[string]any)["host"].(string), "amqp://") {
					t.Fatalf("secret without the broker URL: %v", o.Object)
				}
			}
		})
	}
}

func TestSettingsKedaDefaults(t *testing.T) {
	s, err := scenarios.Load("burst")
	if err != nil {
		t.Fatal(err)
	}
	v := vars(s, false)
	objs, err := Render(s, v)
	if err != nil {
		t.Fatal(err)
	}
	// Without pollingInterval/cooldownPeriod/maxReplicaCount KEDA's defaults apply.
	for _, o := range objs {
		if o.GetKind() == "ScaledObject" {
			spec := o.Object["spec"].(map[string]any)
			delete(spec, "pollingInterval")
			delete(spec, "cooldownPeriod")
			delete(spec, "maxReplicaCount")
			delete(spec, "advanced")
		}
	}
	var got report.Settings
	SettingsFromManifests(objs, &got)
	if got.PollingInterval != 30*time.Second || got.CooldownPeriod != 300*time.Second || got.MaxReplicas != 100 || got.BurstStart {
		t.Fatalf("settings = %+v", got)
	}
}

func TestRenderErrors(t *testing.T) {
	s := &scenarios.Scenario{Manifests: []scenarios.Manifest{{Name: "a.yaml", Data: []byte("kind: ConfigMap\nmetadata: {name: x}\n")}}}
	if _, err := Render(s, nil); err == nil || !strings.Contains(err.Error(), "apiVersion") || !strings.Contains(err.Error(), "a.yaml") {
		t.Fatalf("err = %v", err)
	}
	s.Manifests[0].Data = []byte("apiVersion: v1\nkind: ConfigMap\ndata: {a: ${MISSING}}\n")
	if _, err := Render(s, nil); err == nil || !strings.Contains(err.Error(), "MISSING") {
		t.Fatalf("err = %v", err)
	}
}

func TestDescribePlan(t *testing.T) {
	got := describePlan([]loadgen.Step{{Burst: 300}, {Rate: 1, RateTo: 40, Duration: time.Minute},
		{Rate: 40, Duration: 20 * time.Second}, {Idle: 5 * time.Second}})
	want := "burst 300, 1→40 msg/s over 1m0s, 40 msg/s for 20s, idle 5s"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
