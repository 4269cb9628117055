package fake

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/scaler/decode"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

func TestConfigTags(t *testing.T) {
	if err := decode.Check(&Config{}); err != nil {
		t.Fatal(err)
	}
}

func TestBuild(t *testing.T) {
	cases := []struct {
		name       string
		meta       map[string]string
		target     float64
		activation float64
		wantErr    string
	}{
		{"defaults", map[string]string{"name": "a"}, 1, 0, ""},
		{"explicit", map[string]string{"name": "a", "target": "5", "activationTarget": "2.5"}, 5, 2.5, ""},
		{"missing name", map[string]string{}, 0, 0, `key "name": is required`},
		{"zero target", map[string]string{"name": "a", "target": "0"}, 0, 0, `key "target": value "0": out of range`},
		{"unknown key", map[string]string{"name": "a", "value": "3"}, 0, 0, `key "value": unknown key`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := NewSource()
			tr, err := src.Build(context.Background(), trigger.Spec{Type: Type, Metadata: tc.meta})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tr.Rule.Target != tc.target || tr.Rule.Activation != tc.activation || tr.MetricHint != "fake-a" {
				t.Errorf("trigger = %+v", tr)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	src := NewSource()
	tr, err := src.Build(context.Background(), trigger.Spec{Type: Type, Metadata: map[string]string{"name": "q"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if v, err := tr.Source.Measure(ctx); v != 0 || err != nil {
		t.Errorf("unset: %v, %v", v, err)
	}
	src.Set("q", 42)
	if v, err := tr.Source.Measure(ctx); v != 42 || err != nil {
		t.Errorf("set: %v, %v", v, err)
	}
	boom := errors.New("boom")
	src.SetError("q", boom)
	if _, err := tr.Source.Measure(ctx); !errors.Is(err, boom) {
		t.Errorf("error: %v", err)
	}
	src.Set("q", 7)
	src.SetLatency("q", 30*time.Millisecond)
	start := time.Now()
	if v, err := tr.Source.Measure(ctx); v != 7 || err != nil || time.Since(start) < 30*time.Millisecond {
		t.Errorf("latency: %v, %v after %v", v, err, time.Since(start))
	}
	src.SetLatency("q", time.Hour)
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := tr.Source.Measure(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deadline: %v", err)
	}
	if got := src.Calls("q"); got != 5 {
		t.Errorf("Calls = %d, want 5", got)
	}
	if src.Open("q") != 1 {
		t.Errorf("Open = %d before Close", src.Open("q"))
	}
	_ = tr.Source.Close()
	_ = tr.Source.Close()
	if src.Open("q") != 0 {
		t.Errorf("Open = %d after Close", src.Open("q"))
	}
}

func TestConcurrent(t *testing.T) {
	src := NewSource()
	tr, _ := src.Build(context.Background(), trigger.Spec{Type: Type, Metadata: map[string]string{"name": "c"}})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				src.Set("c", float64(i))
				_, _ = tr.Source.Measure(context.Background())
			}
		}(i)
	}
	wg.Wait()
	if src.Calls("c") != 800 {
		t.Errorf("Calls = %d", src.Calls("c"))
	}
}

func FuzzBuild(f *testing.F) {
	f.Add("q", "1", "0")
	f.Add("", "-1", "NaN")
	f.Fuzz(func(t *testing.T, name, target, act string) {
		tr, err := NewSource().Build(context.Background(), trigger.Spec{Type: Type,
			Metadata: map[string]string{"name": name, "target": target, "activationTarget": act}})
		if err == nil && (tr.Rule.Target <= 0 || tr.Rule.Activation < 0) {
			t.Fatalf("accepted target %v activation %v", tr.Rule.Target, tr.Rule.Activation)
		}
	})
}

func BenchmarkMeasure(b *testing.B) {
	src := NewSource()
	tr, _ := src.Build(context.Background(), trigger.Spec{Type: Type, Metadata: map[string]string{"name": "b"}})
	src.Set("b", 3)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_, _ = tr.Source.Measure(ctx)
	}
}
