package worker_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/testr"
	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/bench/loadgen"
	"github.com/surge-autoscaler/surge/bench/watch"
	"github.com/surge-autoscaler/surge/bench/wire"
	"github.com/surge-autoscaler/surge/bench/worker"
	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// rabbit is the package's RabbitMQ node (integration runs only).
var rabbit *brokers.RabbitMQ

func TestMain(m *testing.M) {
	harness.Main(m, harness.Needs{Components: []harness.Component{brokers.NeedRabbitMQ(&rabbit)}}, nil)
}

// collector gathers records of one run from the results queue.
type collector struct {
	rec    *watch.Recorder
	cancel context.CancelFunc
	done   chan struct{}
}

func collect(t *testing.T, run, results string) *collector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c := &collector{rec: watch.NewRecorder(run, time.Now()), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		_ = watch.ConsumeRecords(ctx, rabbit.AMQPURL, results, func(r wire.Record) { c.rec.AddRecord(r) })
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

func (c *collector) waitDone(t *testing.T, ids []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !c.rec.Done(ids) {
		if time.Now().After(deadline) {
			t.Fatalf("not every message done after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publish(t *testing.T, run, queue string, n int, workMillis int64) []string {
	t.Helper()
	pub, err := loadgen.DialAMQP(rabbit.AMQPURL, queue, true)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	res, err := (&loadgen.Generator{RunID: run}).Run(context.Background(), pub, []loadgen.Step{{Burst: n, WorkMillis: workMillis}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failed() != 0 {
		t.Fatalf("%d messages not confirmed", res.Failed())
	}
	var ids []string
	for _, m := range res.Confirmed() {
		ids = append(ids, m.ID)
	}
	return ids
}

func startWorker(t *testing.T, cfg worker.Config, log logr.Logger) (stop func() error) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- worker.New(cfg, log).Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-errc:
			case <-time.After(30 * time.Second):
				err = fmt.Errorf("worker %s did not stop", cfg.Pod)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

func amqpConfig(pod, queue, results string) worker.Config {
	return worker.Config{Pod: pod, AMQPURL: rabbit.AMQPURL, Queue: queue, DeclareQueue: true, ResultsQueue: results,
		WorkTime: 20 * time.Millisecond, Prefetch: 2, Concurrency: 2, Grace: 5 * time.Second}
}

func depth(t *testing.T, queue string) int {
	t.Helper()
	d := watch.NewAMQPDepth(rabbit.AMQPURL, queue)
	defer d.Close()
	n, err := d.Depth(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestAMQPWorkersProcessEveryMessageOnce(t *testing.T) {
	harness.Integration(t)
	const queue, results, run = "it-every", "it-every-results", "every"
	c := collect(t, run, results)
	ids := publish(t, run, queue, 60, 0)
	stopA := startWorker(t, amqpConfig("pod-a", queue, results), testr.New(t))
	stopB := startWorker(t, amqpConfig("pod-b", queue, results), testr.New(t))
	c.waitDone(t, ids, time.Minute)
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	tl := c.rec.Timeline(time.Now())
	perPod := map[string]int{}
	seen := map[string]bool{}
	for _, r := range tl.Records {
		if r.Outcome != wire.OutcomeDone {
			t.Fatalf("unexpected record %+v", r)
		}
		if seen[r.ID] {
			t.Fatalf("duplicate record for %s", r.ID)
		}
		seen[r.ID] = true
		perPod[r.Pod]++
		if w := r.EndTime().Sub(r.StartTime()); w < 20*time.Millisecond {
			t.Fatalf("record %s: work took %v, less than the 20ms work time", r.ID, w)
		}
	}
	if len(seen) != 60 || perPod["pod-a"] == 0 || perPod["pod-b"] == 0 {
		t.Fatalf("records per pod %v, %d ids", perPod, len(seen))
	}
	if n := depth(t, queue); n != 0 {
		t.Fatalf("queue depth %d after drain", n)
	}
}

func TestAMQPWorkerStopRequeuesUnfinishedWork(t *testing.T) {
	harness.Integration(t)
	const queue, results, run = "it-requeue", "it-requeue-results", "requeue"
	c := collect(t, run, results)
	// 4 messages; a slow worker (30 s per message, prefetch 3, concurrency 1) holds
	// one in flight and two prefetched; one stays ready. Grace 200 ms: at stop the
	// in-flight one must be given back, and the prefetched ones too.
	ids := publish(t, run, queue, 4, 0)
	cfg := amqpConfig("slow", queue, results)
	cfg.WorkTime, cfg.Prefetch, cfg.Concurrency, cfg.Grace = 30*time.Second, 3, 1, 200*time.Millisecond
	stop := startWorker(t, cfg, testr.New(t))
	deadline := time.Now().Add(30 * time.Second)
	for depth(t, queue) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("worker did not take its prefetch")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the first message start
	began := time.Now()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 10*time.Second {
		t.Fatalf("stop took %v with a 200ms grace", took)
	}
	deadline = time.Now().Add(30 * time.Second)
	for depth(t, queue) != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("queue depth %d after stop, want all 4 messages back", depth(t, queue))
		}
		time.Sleep(20 * time.Millisecond)
	}
	tl := c.rec.Timeline(time.Now())
	if len(tl.Records) != 1 || tl.Records[0].Outcome != wire.OutcomeRequeued || tl.Records[0].Pod != "slow" {
		t.Fatalf("records after stop = %+v, want one requeued", tl.Records)
	}
	requeued := tl.Records[0].ID

	// A fast worker finishes all four; the given-back message arrives as a redelivery.
	startWorker(t, amqpConfig("fast", queue, results), testr.New(t))
	c.waitDone(t, ids, time.Minute)
	for _, r := range c.rec.Timeline(time.Now()).Records {
		if r.Outcome == wire.OutcomeDone && r.ID == requeued && (!r.Redelivered || r.Pod != "fast") {
			t.Fatalf("requeued message done as %+v, want a redelivery on pod fast", r)
		}
	}
}

func TestAMQPWorkerStopFinishesInFlightWork(t *testing.T) {
	harness.Integration(t)
	const queue, results, run = "it-finish", "it-finish-results", "finish"
	c := collect(t, run, results)
	ids := publish(t, run, queue, 1, 400)
	cfg := amqpConfig("finisher", queue, results)
	stop := startWorker(t, cfg, testr.New(t))
	deadline := time.Now().Add(30 * time.Second)
	for depth(t, queue) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("worker did not take the message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := stop(); err != nil { // stop while the 400 ms of work runs
		t.Fatal(err)
	}
	c.waitDone(t, ids, 10*time.Second)
	if n := depth(t, queue); n != 0 {
		t.Fatalf("queue depth %d: the finished message came back", n)
	}
}

func TestKafkaWorker(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	k, err := brokers.StartKafka(ctx, kfake.SeedTopics(2, "jobs"), kfake.SeedTopics(1, "results"), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	pub := loadgen.NewKafkaPublisher([]string{k.Addr}, "jobs")
	res, err := (&loadgen.Generator{RunID: "kafka"}).Run(ctx, pub, []loadgen.Step{{Burst: 20, WorkMillis: 5}})
	_ = pub.Close()
	if err != nil || res.Failed() != 0 {
		t.Fatalf("publish: %v, %d failed", err, res.Failed())
	}
	cfg := worker.Config{Pod: "kafka-pod", KafkaBrokers: []string{k.Addr}, KafkaTopic: "jobs", KafkaGroup: "bench",
		ResultsTopic: "results", Prefetch: 10, Concurrency: 1, Grace: time.Second}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- worker.NewKafkaWorker(cfg, testr.New(t), clock.RealClock{}).Run(wctx) }()

	r := kafka.NewReader(kafka.ReaderConfig{Brokers: []string{k.Addr}, Topic: "results", Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	rec := watch.NewRecorder("kafka", time.Now())
	var ids []string
	for _, m := range res.Confirmed() {
		ids = append(ids, m.ID)
	}
	rctx, rcancel := context.WithTimeout(ctx, time.Minute)
	defer rcancel()
	for !rec.Done(ids) {
		m, err := r.ReadMessage(rctx)
		if err != nil {
			t.Fatalf("reading records: %v", err)
		}
		rd, err := wire.DecodeRecord(m.Value)
		if err != nil {
			t.Fatal(err)
		}
		rec.AddRecord(rd)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("worker: %v", err)
	}
	if n := len(rec.Timeline(time.Now()).Records); n != 20 {
		t.Fatalf("%d records, want 20", n)
	}
}

// TestBinaryStopsPromptlyOnSIGTERM runs the bench-worker binary as a pod would (env
// only) and checks that an idle worker exits 0 within a second or two of SIGTERM,
// so a scale-in does not wait for the pod's termination grace period.
func TestBinaryStopsPromptlyOnSIGTERM(t *testing.T) {
	harness.Integration(t)
	bin := filepath.Join(t.TempDir(), "bench-worker")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/surge-autoscaler/surge/bench/cmd/bench-worker").CombinedOutput(); err != nil {
		t.Fatalf("build bench-worker: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Env = []string{"AMQP_URL=" + rabbit.AMQPURL, "QUEUE=it-sigterm", "POD_NAME=sig-pod", "WORK_TIME=10ms"}
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "Consuming") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("worker did not start consuming:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	began := time.Now()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, logs.String())
		}
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("worker still running 10s after SIGTERM:\n%s", logs.String())
	}
	if took := time.Since(began); took > 3*time.Second {
		t.Fatalf("idle worker took %v to stop after SIGTERM", took)
	}
	if s := logs.String(); strings.Contains(s, rabbit.Password) {
		t.Fatalf("the broker password is in the worker's log:\n%s", s)
	}
}

// lockedBuffer is a bytes.Buffer safe for the child's writer and the test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
