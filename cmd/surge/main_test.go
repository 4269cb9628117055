package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/bench/watch"
)

func TestParseSet(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr bool
	}{
		{name: "pairs", in: []string{"A=1", "B=x=y", "C="}, want: map[string]string{"A": "1", "B": "x=y", "C": ""}},
		{name: "no equals", in: []string{"A"}, wantErr: true},
		{name: "empty key", in: []string{"=1"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseSet(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestOutputDir(t *testing.T) {
	got, err := outputDir("/tmp/x", "", "burst", true)
	if err != nil || got != "/tmp/x/burst-short" {
		t.Fatalf("got %q, %v", got, err)
	}
	got, err = outputDir("", "/repo", "ramp", false)
	if err != nil || !strings.HasPrefix(got, filepath.Join("/repo", "bench", "results")) || !strings.HasSuffix(got, "-ramp") {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestProgressViewWithoutTerminal(t *testing.T) {
	var b bytes.Buffer
	v := newProgressView(&b, time.Nanosecond)
	p := watch.Progress{Elapsed: 1500 * time.Millisecond, Depth: 300, Desired: 30, Pods: 12, Running: 10, Done: 5, Published: 300}
	v.update("draining", p)
	p.Elapsed += time.Second
	v.update("draining", p) // same state, later: not printed again
	p.Running = 11
	v.update("draining", p)
	fmt.Fprintf(v, "bench: a log line\n")
	v.finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("output:\n%s", b.String())
	}
	for _, want := range []string{"[    1.5s] draining", "queue   300", "desired   30", "pods   12, Running   10", "done 5/300"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("%q lacks %q", lines[0], want)
		}
	}
	if strings.Contains(b.String(), "\r") {
		t.Error("carriage returns without a terminal")
	}
}

func TestFormatProgressUnknowns(t *testing.T) {
	line := formatProgress("waiting", watch.Progress{Depth: -1, Desired: -1})
	if !strings.Contains(line, "queue     -") || !strings.Contains(line, "desired    -") {
		t.Fatalf("line = %q", line)
	}
}

func TestCommands(t *testing.T) {
	tests := []struct {
		args    []string
		want    string
		wantErr string
	}{
		{args: []string{"version"}, want: "surge dev"},
		{args: []string{"bench", "--list"}, want: "spike-to-100"},
		{args: []string{"bench"}, wantErr: "accepts 1 arg"},
		{args: []string{"bench", "nope"}, wantErr: "unknown scenario"},
		{args: []string{"bench", "burst", "--kubeconfig", "/x"}, wantErr: "go together"},
		{args: []string{"bench", "burst", "--set", "X"}, wantErr: "KEY=VALUE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			root := newRootCommand()
			var out bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&out)
			root.SetArgs(tt.args)
			err := root.ExecuteContext(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.want) {
				t.Fatalf("output %q lacks %q", out.String(), tt.want)
			}
		})
	}
}
