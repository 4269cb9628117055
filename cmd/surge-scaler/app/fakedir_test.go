package app

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/fake"
	"github.com/surge-autoscaler/surge/scaler/trigger"
)

func TestFakeDir(t *testing.T) {
	dir := t.TempDir()
	src := fake.NewSource()
	f := &fakeDir{dir: dir, src: src, log: logr.Discard()}
	write := func(name, content string) {
		tmp := filepath.Join(dir, "."+name)
		if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	measure := func(name string) (float64, error) {
		trig, err := src.Build(context.Background(), trigger.Spec{Type: fake.Type, Metadata: map[string]string{"name": name}})
		if err != nil {
			t.Fatal(err)
		}
		defer trig.Close()
		return trig.Source.Measure(context.Background())
	}
	tests := []struct {
		name, content string
		want          float64
		wantErr       bool
	}{
		{name: "a", content: "12.5\n", want: 12.5},
		{name: "b", content: "error: broker down", wantErr: true},
		{name: "c", content: "not a number", want: 0},
	}
	for _, tt := range tests {
		write(tt.name, tt.content)
	}
	f.load()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := measure(tt.name)
			if (err != nil) != tt.wantErr || (!tt.wantErr && v != tt.want) {
				t.Fatalf("got %v, %v; want %v (error %v)", v, err, tt.want, tt.wantErr)
			}
		})
	}
	write("b", "3")
	f.load()
	if v, err := measure("b"); err != nil || v != 3 {
		t.Fatalf("after recovery: %v %v", v, err)
	}
}
