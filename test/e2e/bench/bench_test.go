package benche2e

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/klog/v2"

	"github.com/surge-autoscaler/surge/bench/report"
	"github.com/surge-autoscaler/surge/bench/run"
	"github.com/surge-autoscaler/surge/bench/scenarios"
	"github.com/surge-autoscaler/surge/bench/watch"
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
	needStack(t)
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
