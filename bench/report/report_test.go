package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"

	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/bench/wire"
)

var base = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return base.Add(time.Duration(ms) * time.Millisecond) }

func d(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []time.Duration
		want Stats
	}{
		{name: "empty", in: nil, want: Stats{}},
		{name: "one", in: []time.Duration{d(7)}, want: Stats{N: 1, P50: d(7), P95: d(7), Max: d(7)}},
		{name: "four, unsorted", in: []time.Duration{d(4), d(1), d(3), d(2)}, want: Stats{N: 4, P50: d(2), P95: d(4), Max: d(4)}},
		// 1..100 ms: nearest rank p50 = 50th value, p95 = 95th.
		{name: "hundred", in: seq(100), want: Stats{N: 100, P50: d(50), P95: d(95), Max: d(100)}},
		// 1..20 ms: p95 rank = ceil(19) = 19th.
		{name: "twenty", in: seq(20), want: Stats{N: 20, P50: d(10), P95: d(19), Max: d(20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Duration(nil), tt.in...)
			got := Summarize(tt.in)
			if got.N != tt.want.N || got.P50 != tt.want.P50 || got.P95 != tt.want.P95 || got.Max != tt.want.Max {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if got.P50Ms != millis(tt.want.P50) {
				t.Fatalf("P50Ms = %v", got.P50Ms)
			}
			for i := range in {
				if in[i] != tt.in[i] {
					t.Fatal("Summarize modified its input")
				}
			}
		})
	}
}

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[n-1-i] = d(i + 1) // descending, to test sorting
	}
	return out
}

// scenario builds a run: 10 messages at t0, desired 0 → 5 (300 ms) → 10 (1300 ms) →
// 0 (10 s); pod i created at 400+10i ms, scheduled 20 ms later, Running 100 ms after
// that, Ready 5 ms after that, gone at 12 s; one pre-existing pod; message 9 lost,
// message 0 done twice, message 1 requeued once then done.
func scenario() Input {
	var pub []wire.Message
	for i := range 10 {
		pub = append(pub, wire.Message{ID: fmt.Sprintf("r-%d", i), Run: "r", Seq: int64(i), SentUnixNano: at(i).UnixNano()})
	}
	tl := watch.Timeline{Start: at(-2000), End: at(13000)}
	tl.Desired = []watch.Change{{At: at(-1000), Value: 0}, {At: at(300), Value: 5}, {At: at(1300), Value: 10}, {At: at(10000), Value: 0}}
	tl.Pods = append(tl.Pods, watch.PodTimes{Name: "old", UID: "old", Created: at(-1500), Node: "vn"})
	for i := range 10 {
		c := 400 + 10*i
		tl.Pods = append(tl.Pods, watch.PodTimes{Name: fmt.Sprintf("p%d", i), UID: fmt.Sprintf("u%d", i), Node: "vn",
			Created: at(c), Scheduled: at(c + 20), Running: at(c + 120), Ready: at(c + 125), Terminating: at(11000 + 10*i), Gone: at(12000)})
	}
	tl.Pods[10].Failed, tl.Pods[10].Reason = at(900), "ImageNotMapped"
	for i := range 9 {
		start := 600 + 10*i
		tl.Records = append(tl.Records, wire.Record{ID: fmt.Sprintf("r-%d", i), Run: "r", Pod: fmt.Sprintf("p%d", i),
			Start: at(start).UnixNano(), End: at(start + 250).UnixNano(), Outcome: wire.OutcomeDone})
	}
	tl.Records = append(tl.Records,
		wire.Record{ID: "r-0", Run: "r", Pod: "p5", Start: at(2000).UnixNano(), End: at(2250).UnixNano(), Outcome: wire.OutcomeDone},
		wire.Record{ID: "r-1", Run: "r", Pod: "p6", Start: at(500).UnixNano(), End: at(510).UnixNano(), Outcome: wire.OutcomeRequeued},
		wire.Record{ID: "zz", Run: "r", Pod: "p6", Start: at(500).UnixNano(), End: at(510).UnixNano(), Outcome: wire.OutcomeDone},
	)
	for ms := -2000; ms <= 13000; ms += 100 {
		s := watch.Sample{At: at(ms), Depth: 0, Desired: 0}
		if ms >= 0 && ms < 1000 {
			s.Depth = 10 - ms/100
		}
		for _, c := range tl.Desired {
			if !c.At.After(at(ms)) {
				s.Desired = c.Value
			}
		}
		for _, p := range tl.Pods[1:] {
			if !p.Created.After(at(ms)) && at(ms).Before(p.Gone) {
				s.Pods++
				if !p.Running.After(at(ms)) {
					s.Running++
				}
			}
		}
		tl.Samples = append(tl.Samples, s)
	}
	return Input{
		Settings: Settings{Scenario: "burst", Autoscaler: "surge.dev/v1alpha1 ScaledObject", PollingInterval: time.Second,
			CooldownPeriod: 5 * time.Second, BurstStart: true, TriggerValue: "10", MaxReplicas: 30, HPASyncPeriod: "1s",
			Backend: "local", StartDelay: "off", Load: "burst 10", Messages: 10, WorkTime: 250 * time.Millisecond,
			Cores: 2, LoadBefore: "1.00 0.50 0.25", LoadAfter: "2.00 1.00 0.50", Cluster: "embedded", KubeVersion: "v1.37.2", Date: base},
		Timeline:  tl,
		Published: pub, PublishFailed: 1,
		LoadStart: at(-5), LoadEnd: at(40),
	}
}

func TestBuild(t *testing.T) {
	r := Build(scenario())
	if !r.T0.Equal(base) {
		t.Fatalf("T0 = %v, want the first message's send time %v", r.T0, base)
	}
	wantMs := map[string]time.Duration{
		MsPublished:      d(40),
		MsDetected:       d(300),
		MsPeakDesired:    d(1300),
		MsFirstScheduled: d(420),
		MsFirstRunning:   d(520),
		MsFirstDone:      d(850),
		MsAllRunning:     d(610), // the 10th pod: created 490, Running 610
		MsPeakRunning:    d(700), // the first 100 ms sample with 10 Running
		MsDrained:        d(930), // r-8 ends 680+250; r-9 is lost
		MsScaledToZero:   d(10000),
		MsPodsGone:       d(12000),
	}
	for name, want := range wantMs {
		m := r.Milestone(name)
		if !m.Reached || m.After != want {
			t.Errorf("%s = %v (reached %v), want %v", name, m.After, m.Reached, want)
		}
	}
	if v := r.Milestone(MsPeakDesired).Value; v != 10 {
		t.Errorf("peak desired value %d, want 10", v)
	}
	wantPh := map[string][3]time.Duration{ // p50, p95, max
		PhCreated:         {d(440), d(490), d(490)},
		PhScheduled:       {d(20), d(20), d(20)},
		PhStarted:         {d(100), d(100), d(100)},
		PhReady:           {d(5), d(5), d(5)},
		PhBurstRunning:    {d(560), d(610), d(610)},
		PhBurstFirstStart: {d(640), d(680), d(680)}, // 9 pods with a first message: 600..680
		PhBurstFirstDone:  {d(890), d(930), d(930)},
		PhWork:            {d(250), d(250), d(250)},
		PhTerminating:     {d(950), d(1000), d(1000)}, // gone at 12 s, terminating at 11 s + 10i
		PhQueueWait:       {d(596), d(600), d(600)},   // start 600+10i - sent i = 600+9i... 9 values 600..672? see below
	}
	// queue wait of message i: (600+10i) − i = 600+9i for i in 0..8 → p50 = 636, p95 = max = 672.
	wantPh[PhQueueWait] = [3]time.Duration{d(636), d(672), d(672)}
	for name, want := range wantPh {
		p := r.Phase(name)
		if got := [3]time.Duration{p.P50, p.P95, p.Max}; got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	in := r.Integrity
	if in.Published != 10 || in.Processed != 9 || in.Lost != 1 || in.LostIDs[0] != "r-9" ||
		in.Duplicates != 1 || in.Requeued != 1 || in.Unexpected != 1 || in.PublishFailed != 1 || in.OK {
		t.Errorf("integrity = %+v", in)
	}
	p := r.Pods
	if p.New != 10 || p.PreExisting != 1 || p.Failed != 1 || p.Reasons[0] != "ImageNotMapped" || p.PeakDesired != 10 || p.PeakRunning != 10 {
		t.Errorf("pods = %+v", p)
	}
}

func TestBuildNothingHappened(t *testing.T) {
	in := scenario()
	in.Timeline.Desired = []watch.Change{{At: at(-1000), Value: 0}}
	in.Timeline.Pods, in.Timeline.Records = nil, nil
	for i := range in.Timeline.Samples {
		in.Timeline.Samples[i].Pods, in.Timeline.Samples[i].Running = 0, 0
	}
	r := Build(in)
	for _, m := range r.Milestones {
		if m.Reached && m.Name != MsPublished {
			t.Errorf("%s reached without any activity", m.Name)
		}
	}
	if r.Integrity.Lost != 10 || r.Integrity.OK {
		t.Errorf("integrity = %+v", r.Integrity)
	}
}

func TestWriteTableAndJSON(t *testing.T) {
	r := Build(scenario())
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"pollingInterval 1s", "HPA sync period 1s", "burstStart on", "backend local (simulated start delay off)",
		"2 cores", "load average before 1.00 0.50 0.25",
		MsDetected, "300ms", "1.300s", PhBurstRunning, "lost 1 [FAILED]", "duplicates 1", "lost ids (first 1): r-9",
		"failed 1 (ImageNotMapped)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := r.WriteJSON(&b, false); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Settings struct {
			PollingS float64 `json:"polling_interval_s"`
			HPA      string  `json:"hpa_sync_period"`
		} `json:"settings"`
		Phases []struct {
			Name  string  `json:"name"`
			P50Ms float64 `json:"p50_ms"`
		} `json:"phases"`
		Integrity Integrity       `json:"integrity"`
		Timeline  json.RawMessage `json:"timeline"`
	}
	r.Settings.Fill()
	b.Reset()
	if err := r.WriteJSON(&b, false); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Settings.PollingS != 1 || back.Settings.HPA != "1s" || back.Integrity.Lost != 1 || back.Timeline != nil {
		t.Fatalf("json = %+v", back)
	}
	if back.Phases[0].Name != PhCreated || back.Phases[0].P50Ms != 440 {
		t.Fatalf("phase 0 = %+v", back.Phases[0])
	}
}

func TestWritePNG(t *testing.T) {
	r := Build(scenario())
	path := filepath.Join(t.TempDir(), "timeline.png")
	if dir := os.Getenv("SURGE_KEEP_PNG"); dir != "" { // to look at it: SURGE_KEEP_PNG=/tmp
		path = filepath.Join(dir, "report-test-timeline.png")
	}
	if err := r.SavePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1320 || b.Dy() != 880 {
		t.Fatalf("size %v, want 1320x880 (12x8 in at 110 dpi)", b)
	}
	// Every series colour must appear: the lines were really drawn.
	found := map[string]bool{}
	cols := map[string][3]uint32{"depth": rgb(colDepth), "desired": rgb(colDesired), "running": rgb(colRunning), "pods": rgb(colPods)}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			for name, c := range cols {
				if r>>8 == c[0] && g>>8 == c[1] && b>>8 == c[2] {
					found[name] = true
				}
			}
		}
	}
	for name := range cols {
		if !found[name] {
			t.Errorf("no %s pixels in the timeline", name)
		}
	}
}

func rgb(c interface{ RGBA() (r, g, b, a uint32) }) [3]uint32 {
	r, g, b, _ := c.RGBA()
	return [3]uint32{r >> 8, g >> 8, b >> 8}
}

func TestWritePNGWithoutSamples(t *testing.T) {
	r := &Report{Timeline: &watch.Timeline{}}
	if err := r.WritePNG(&bytes.Buffer{}); err == nil {
		t.Fatal("no error for an empty timeline")
	}
}

// BenchmarkBuild is report generation for a 300-message burst on 30 pods, 5 minutes
// of 100 ms samples.
func BenchmarkBuild(b *testing.B) {
	in := bigInput(300, 30, 3000)
	b.ReportAllocs()
	for b.Loop() {
		Build(in)
	}
}

// BenchmarkWritePNG is drawing that run's timeline.
func BenchmarkWritePNG(b *testing.B) {
	r := Build(bigInput(300, 30, 3000))
	b.ReportAllocs()
	for b.Loop() {
		if err := r.WritePNG(&bytes.Buffer{}); err != nil {
			b.Fatal(err)
		}
	}
}

func bigInput(msgs, pods, samples int) Input {
	in := Input{Settings: Settings{Scenario: "bench"}}
	for i := range msgs {
		in.Published = append(in.Published, wire.Message{ID: fmt.Sprintf("r-%06d", i), Run: "r", SentUnixNano: at(0).UnixNano()})
		s := 500 + i*10
		in.Timeline.Records = append(in.Timeline.Records, wire.Record{ID: fmt.Sprintf("r-%06d", i), Run: "r",
			Pod: fmt.Sprintf("p%d", i%pods), Start: at(s).UnixNano(), End: at(s + 250).UnixNano(), Outcome: wire.OutcomeDone})
	}
	for i := range pods {
		in.Timeline.Pods = append(in.Timeline.Pods, watch.PodTimes{Name: fmt.Sprintf("p%d", i), UID: fmt.Sprint(i),
			Created: at(100), Scheduled: at(120), Running: at(300 + i), Ready: at(301 + i), Gone: at(60000)})
	}
	in.Timeline.Desired = []watch.Change{{At: at(-10), Value: 0}, {At: at(50), Value: int32(pods)}, {At: at(50000), Value: 0}}
	for i := range samples {
		in.Timeline.Samples = append(in.Timeline.Samples, watch.Sample{At: at(i * 100), Depth: max(0, msgs-i), Desired: int32(pods), Running: pods, Pods: pods})
	}
	return in
}

func TestTickers(t *testing.T) {
	labels := func(ticks []plot.Tick) string {
		var out []string
		for _, tk := range ticks {
			out = append(out, tk.Label)
		}
		return strings.Join(out, " ")
	}
	if got := labels(secondsTicker{}.Ticks(-1.2, 12.3)); got != "-1 0 1 2 3 4 5 6 7 8 9 10 11 12" {
		t.Errorf("seconds ticks %q", got)
	}
	if got := labels(secondsTicker{}.Ticks(-0.7, 67)); got != "0 5 10 15 20 25 30 35 40 45 50 55 60 65" {
		t.Errorf("seconds ticks %q", got)
	}
	if got := labels(countTicker{}.Ticks(0, 34.5)); got != "0 5 10 15 20 25 30" {
		t.Errorf("count ticks %q", got)
	}
	if got := labels(countTicker{}.Ticks(0, 5.75)); got != "0 1 2 3 4 5" {
		t.Errorf("count ticks %q", got)
	}
}
