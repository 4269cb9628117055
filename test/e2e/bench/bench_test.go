package benche2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/run"
	"github.com/surge-autoscaler/surge/bench/scenarios"
	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/test/harness"
)

// scaleTo sets the worker Deployment's replicas, as an autoscaler would.
func scaleTo(t *testing.T, ns string, n int) {
	t.Helper()
	patch := []byte(`{"spec":{"replicas":` + strconv.Itoa(n) + `}}`)
	_, err := st.Cluster.Client.AppsV1().Deployments(ns).Patch(context.Background(), "bench-worker", types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		t.Errorf("scale to %d: %v", n, err)
	}
}

// TestWorkersOnTheVirtualNode runs a scenario without an autoscaler: the test scales
// the worker to 4 when messages wait and back to 0 once every message is done. It
// checks the whole path except surge-scaler: worker pods bound to the virtual node,
// run by the local backend as real bench-worker processes, consuming from RabbitMQ,
// their records, the watcher, and the report.
func TestWorkersOnTheVirtualNode(t *testing.T) {
	harness.Integration(t)
	s, err := scenarios.Load("testdata/manual")
	if err != nil {
		t.Fatal(err)
	}
	const ns = "bench-manual"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	scaled, drained := false, false
	var log bytes.Buffer
	res, err := run.Run(ctx, run.Options{
		Scenario: s, Namespace: ns, Kube: st.Kube, AMQPURL: st.AMQPURL,
		Settings: report.Settings{Cluster: "embedded", Backend: "local", StartDelay: "off", HPASyncPeriod: "1s"},
		Log:      &log, Logger: klog.Background(),
		Progress: func(phase string, p watch.Progress) {
			switch {
			case phase == "draining" && !scaled && p.Published > 0:
				scaled = true
				scaleTo(t, ns, 4)
			case phase == "scaling back to 0" && !drained:
				drained = true
				scaleTo(t, ns, 0)
			}
		},
	})
	t.Logf("run log:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	r := res.Report
	var table bytes.Buffer
	_ = r.WriteTable(&table)
	t.Logf("report:\n%s", table.String())
	if res.Err != nil {
		t.Fatalf("run: %v", res.Err)
	}
	in := r.Integrity
	if !in.OK || in.Lost != 0 || in.Published != 40 || in.Processed != 40 {
		t.Fatalf("integrity = %+v", in)
	}
	if r.Pods.New != 4 || r.Pods.Failed != 0 || len(r.Pods.Nodes) != 1 || r.Pods.Nodes[0] != "surge-vnode" {
		t.Fatalf("pods = %+v", r.Pods)
	}
	for _, name := range []string{report.MsFirstRunning, report.MsFirstDone, report.MsDrained, report.MsPodsGone} {
		if !r.Milestone(name).Reached {
			t.Errorf("milestone %q not reached", name)
		}
	}
	// Every record came from one of the four pods, each worked ≥ 100 ms.
	pods := map[string]bool{}
	for _, p := range r.Timeline.Pods {
		pods[p.Name] = true
	}
	for _, rec := range r.Timeline.Records {
		if !pods[rec.Pod] {
			t.Fatalf("record from unknown pod %q", rec.Pod)
		}
		if w := rec.EndTime().Sub(rec.StartTime()); w < 100*time.Millisecond {
			t.Fatalf("record %s: work %v < 100ms", rec.ID, w)
		}
	}
	png := filepath.Join(t.TempDir(), "timeline.png")
	if err := r.SavePNG(png); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() < 10_000 {
		t.Fatalf("timeline PNG: %v, %v", fi, err)
	}
}

// TestScenariosShort runs every built-in scenario's short form (what CI runs) with
// surge-scaler: each must complete with no message lost, no pod failed, and every
// milestone from detection to back-at-zero reached.
func TestScenariosShort(t *testing.T) {
	harness.Integration(t)
	for _, name := range scenarios.Names() {
		t.Run(name, func(t *testing.T) {
			s, err := scenarios.Load(name)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			var log bytes.Buffer
			res, err := run.Run(ctx, run.Options{
				Scenario: s, Short: true, Kube: st.Kube, AMQPURL: st.AMQPURL, Log: &log, Logger: klog.Background(),
				Settings: report.Settings{Cluster: "embedded", Backend: "local", StartDelay: "off", HPASyncPeriod: "1s"},
			})
			t.Logf("run log:\n%s", log.String())
			if err != nil {
				t.Fatal(err)
			}
			var table bytes.Buffer
			_ = res.Report.WriteTable(&table)
			t.Logf("report:\n%s", table.String())
			if res.Err != nil {
				t.Fatalf("run: %v", res.Err)
			}
			r := res.Report
			if !r.Integrity.OK || r.Integrity.Lost != 0 || r.Integrity.Processed != r.Integrity.Published {
				t.Fatalf("integrity = %+v", r.Integrity)
			}
			if r.Pods.Failed != 0 || r.Pods.New == 0 {
				t.Fatalf("pods = %+v", r.Pods)
			}
			for _, m := range []string{report.MsDetected, report.MsFirstRunning, report.MsFirstDone, report.MsDrained,
				report.MsScaledToZero, report.MsPodsGone} {
				if !r.Milestone(m).Reached {
					t.Errorf("milestone %q not reached", m)
				}
			}
			if !r.Settings.BurstStart || r.Settings.PollingInterval != time.Second {
				t.Errorf("settings not read from the ScaledObject: %+v", r.Settings)
			}
		})
	}
}

// TestCLIAgainstAnExistingSetup runs the surge binary the way a user points it at
// their own cluster and broker (here: this package's stack) and checks its outputs.
func TestCLIAgainstAnExistingSetup(t *testing.T) {
	harness.Integration(t)
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "surge"), "bench", "burst", "--short",
		"--kubeconfig", st.Cluster.Kubeconfig, "--amqp-url", st.AMQPURL, "--namespace", "bench-cli",
		"--cluster-hpa-sync-period", "1s", "--cluster-backend", "local", "--out", out)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("stderr:\n%s\nstdout:\n%s", stderr.String(), stdout.String())
	if err != nil {
		t.Fatalf("surge bench: %v", err)
	}
	for _, want := range []string{"lost 0 [OK]", "pollingInterval 1s", "HPA sync period 1s", "backend local", "timeline: "} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(stdout.String()+stderr.String(), st.Rabbit.Password) {
		t.Error("the broker password appears in the output")
	}
	for _, f := range []string{"timeline.png", "report.json", "report.txt"} {
		if fi, err := os.Stat(filepath.Join(out, "burst-short", f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}
