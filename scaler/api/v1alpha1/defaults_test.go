package v1alpha1

import (
	"strings"
	"testing"
	"time"
)

func TestPauseFromAnnotations(t *testing.T) {
	three := int32(3)
	tests := []struct {
		name    string
		ann     map[string]string
		want    Pause
		wantErr string
	}{
		{name: "none", ann: nil, want: Pause{}},
		{name: "keda paused", ann: map[string]string{AnnotationPausedKEDA: "true"}, want: Pause{Paused: true}},
		{name: "surge paused", ann: map[string]string{AnnotationPaused: "true"}, want: Pause{Paused: true}},
		{name: "keda replicas", ann: map[string]string{AnnotationPausedReplicasKEDA: "3"}, want: Pause{Paused: true, Replicas: &three}},
		{name: "surge replicas", ann: map[string]string{AnnotationPausedReplicas: "3"}, want: Pause{Paused: true, Replicas: &three}},
		{name: "paused false overrides replicas", ann: map[string]string{AnnotationPausedKEDA: "false", AnnotationPausedReplicasKEDA: "3"}, want: Pause{}},
		{name: "surge spelling wins", ann: map[string]string{AnnotationPaused: "false", AnnotationPausedKEDA: "true"}, want: Pause{}},
		{name: "bad bool", ann: map[string]string{AnnotationPausedKEDA: "yes please"}, wantErr: "metadata.annotations[autoscaling.keda.sh/paused]"},
		{name: "bad replicas", ann: map[string]string{AnnotationPausedReplicas: "x"}, wantErr: "metadata.annotations[surge.dev/paused-replicas]"},
		{name: "negative replicas", ann: map[string]string{AnnotationPausedReplicasKEDA: "-1"}, wantErr: "autoscaling.keda.sh/paused-replicas"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PauseFromAnnotations(tt.ann)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Paused != tt.want.Paused || (got.Replicas == nil) != (tt.want.Replicas == nil) ||
				(got.Replicas != nil && *got.Replicas != *tt.want.Replicas) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var s ScaledObjectSpec
	if s.PollingIntervalDuration() != 30*time.Second || s.CooldownDuration() != 300*time.Second ||
		s.InitialCooldownDuration() != 0 || s.MinReplicas() != 0 || s.MaxReplicas() != 100 || s.BurstStart() {
		t.Fatalf("KEDA defaults not applied: %+v", s)
	}
	so := &ScaledObject{}
	so.Name = "web"
	if so.HPAName() != "surge-web" {
		t.Fatalf("HPAName = %q", so.HPAName())
	}
	so.Spec.Advanced = &AdvancedConfig{HorizontalPodAutoscalerConfig: &HorizontalPodAutoscalerConfig{Name: "mine"}}
	if so.HPAName() != "mine" {
		t.Fatalf("HPAName = %q", so.HPAName())
	}
	var ref ScaleTarget
	if ref.TargetAPIVersion() != "apps/v1" || ref.TargetKind() != "Deployment" {
		t.Fatal("scaleTargetRef defaults")
	}
}

// FuzzPauseFromAnnotations: any annotation values either parse into a consistent
// Pause or fail naming the annotation; replicas are never negative.
func FuzzPauseFromAnnotations(f *testing.F) {
	for _, seed := range [][4]string{
		{"true", "", "", ""}, {"", "3", "", ""}, {"false", "3", "", ""}, {"", "", "TRUE", "0"},
		{"maybe", "", "", ""}, {"", "-1", "", ""}, {"", "99999999999", "", ""}, {"1", " 4", "f", "x"},
	} {
		f.Add(seed[0], seed[1], seed[2], seed[3])
	}
	f.Fuzz(func(t *testing.T, kedaPaused, kedaReplicas, surgePaused, surgeReplicas string) {
		a := map[string]string{}
		for k, v := range map[string]string{AnnotationPausedKEDA: kedaPaused, AnnotationPausedReplicasKEDA: kedaReplicas,
			AnnotationPaused: surgePaused, AnnotationPausedReplicas: surgeReplicas} {
			if v != "" {
				a[k] = v
			}
		}
		p, err := PauseFromAnnotations(a)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "metadata.annotations[") {
				t.Fatalf("error does not name the annotation: %v", err)
			}
			return
		}
		if p.Replicas != nil && (*p.Replicas < 0 || !p.Paused) {
			t.Fatalf("inconsistent pause %+v", p)
		}
	})
}
