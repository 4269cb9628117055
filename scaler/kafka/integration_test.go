package kafka

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.uber.org/goleak"

	"github.com/surge-autoscaler/surge/scaler/trigger"
	"github.com/surge-autoscaler/surge/test/harness"
	"github.com/surge-autoscaler/surge/test/harness/brokers"
)

// kb is the package's broker (integration runs only).
var kb *brokers.Kafka

func TestMain(m *testing.M) {
	brokers.ServeKafkaIfChild() // the benchmarks' broker process (StartKafkaProcess)
	harness.Main(m, harness.Needs{Components: []harness.Component{brokers.NeedKafka(&kb)}}, nil)
}

var seq atomic.Int64

// fixture is a fresh topic and group on the package's broker.
type fixture struct {
	t            testing.TB
	k            *brokers.Kafka
	topic, group string
	client       *kafkago.Client
}

func newFixture(t testing.TB, k *brokers.Kafka, partitions int32) *fixture {
	t.Helper()
	n := seq.Add(1)
	f := &fixture{t: t, k: k, topic: fmt.Sprintf("topic-%d", n), group: fmt.Sprintf("group-%d", n),
		// Its own transport: a transport caches metadata, and the topic is new.
		client: &kafkago.Client{Addr: kafkago.TCP(k.Addr), Timeout: 5 * time.Second, Transport: &kafkago.Transport{}}}
	t.Cleanup(func() { f.client.Transport.(*kafkago.Transport).CloseIdleConnections() })
	if partitions > 0 {
		if err := k.Cluster.CreateTopic(f.topic, partitions, nil); err != nil {
			t.Fatalf("create topic: %v", err)
		}
	}
	return f
}

func (f *fixture) produce(topic string, partition, n int) {
	f.t.Helper()
	recs := make([]kafkago.Record, n)
	res, err := f.client.Produce(context.Background(), &kafkago.ProduceRequest{
		Topic: topic, Partition: partition, RequiredAcks: kafkago.RequireAll, Records: kafkago.NewRecordReader(recs...)})
	if err != nil || res.Error != nil {
		f.t.Fatalf("produce: %v %v", err, res)
	}
}

func (f *fixture) commit(topic string, offsets map[int]int64) {
	f.t.Helper()
	var parts []kafkago.OffsetCommit
	for p, o := range offsets {
		parts = append(parts, kafkago.OffsetCommit{Partition: p, Offset: o})
	}
	res, err := f.client.OffsetCommit(context.Background(), &kafkago.OffsetCommitRequest{
		GroupID: f.group, GenerationID: -1, Topics: map[string][]kafkago.OffsetCommit{topic: parts}})
	if err != nil {
		f.t.Fatalf("commit: %v", err)
	}
	for _, ps := range res.Topics {
		for _, p := range ps {
			if p.Error != nil {
				f.t.Fatalf("commit partition %d: %v", p.Partition, p.Error)
			}
		}
	}
}

func (f *fixture) build(p *Pool, extra m, auth m) trigger.Source {
	f.t.Helper()
	meta := m{"bootstrapServers": f.k.Addr, "consumerGroup": f.group, "topic": f.topic}
	for k, v := range extra {
		if v == "" {
			delete(meta, k)
		} else {
			meta[k] = v
		}
	}
	tr, err := p.Build(context.Background(), trigger.Spec{Type: "kafka", Name: "it", Metadata: meta, AuthParams: auth})
	if err != nil {
		f.t.Fatalf("Build: %v", err)
	}
	f.t.Cleanup(func() { _ = tr.Source.Close() })
	return tr.Source
}

func measure(t testing.TB, s trigger.Source) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := s.Measure(ctx)
	if err != nil {
		t.Fatalf("Measure: %v", err)
	}
	return v
}

func broker(t testing.TB) *brokers.Kafka {
	t.Helper()
	harness.Integration(t)
	return kb
}

func TestLagAgainstBroker(t *testing.T) {
	k := broker(t)
	// Three partitions holding 5, 3 and 0 records.
	setup := func(t *testing.T) *fixture {
		f := newFixture(t, k, 3)
		f.t = t
		f.produce(f.topic, 0, 5)
		f.produce(f.topic, 1, 3)
		return f
	}
	cases := []struct {
		name   string
		commit map[int]int64
		meta   m
		want   float64
	}{
		{"committed", map[int]int64{0: 2, 1: 3, 2: 0}, nil, 3},
		{"no commit, latest", nil, nil, 3},
		{"no commit, latest, scale to zero", nil, m{"scaleToZeroOnInvalidOffset": "true"}, 0},
		{"no commit, earliest", nil, m{"offsetResetPolicy": "earliest"}, 8},
		{"partly committed, earliest", map[int]int64{0: 4}, m{"offsetResetPolicy": "earliest"}, 4},
		{"capped at partitions", map[int]int64{0: 0, 1: 0, 2: 0}, m{"lagThreshold": "1"}, 3},
		{"idle consumers allowed", map[int]int64{0: 0, 1: 0, 2: 0}, m{"lagThreshold": "1", "allowIdleConsumers": "true"}, 8},
		{"limit to partitions with lag", map[int]int64{0: 0, 1: 3, 2: 0}, m{"lagThreshold": "1", "limitToPartitionsWithLag": "true"}, 1},
		{"partition limitation", map[int]int64{0: 0, 1: 0, 2: 0}, m{"partitionLimitation": "1-2"}, 3},
		{"no topic: topics of the group", map[int]int64{0: 1, 1: 1, 2: 0}, m{"topic": ""}, 6},
		{"no topic, no commits", nil, m{"topic": ""}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(testr.New(t))
			defer p.Close()
			f := setup(t)
			if tc.commit != nil {
				f.commit(f.topic, tc.commit)
			}
			if got := measure(t, f.build(p, tc.meta, nil)); got != tc.want {
				t.Errorf("lag = %v, want %v", got, tc.want)
			}
		})
	}
	t.Run("excludePersistentLag", func(t *testing.T) {
		p := NewPool(testr.New(t))
		defer p.Close()
		f := setup(t)
		f.commit(f.topic, map[int]int64{0: 1, 1: 1, 2: 0})
		s := f.build(p, m{"excludePersistentLag": "true"}, nil)
		if got := measure(t, s); got != 6 {
			t.Fatalf("first lag %v, want 6", got)
		}
		f.commit(f.topic, map[int]int64{0: 2})
		if got := measure(t, s); got != 3 { // partition 1 stuck: only partition 0 counts
			t.Errorf("second lag %v, want 3", got)
		}
	})
	t.Run("two topics through one transport", func(t *testing.T) {
		p := NewPool(testr.New(t))
		defer p.Close()
		a, b := setup(t), setup(t)
		sa, sb := a.build(p, nil, nil), b.build(p, m{"lagThreshold": "2"}, nil)
		if measure(t, sa) != 3 || measure(t, sb) != 3 {
			t.Error("wrong lag")
		}
		if p.Transports() != 1 {
			t.Errorf("%d transports for one cluster", p.Transports())
		}
	})
	t.Run("no topic: topics of live members", func(t *testing.T) {
		p := NewPool(testr.New(t))
		defer p.Close()
		f := setup(t) // nothing committed: only the live member reveals the topic
		r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{k.Addr}, GroupID: f.group, Topic: f.topic,
			StartOffset: kafkago.LastOffset, CommitInterval: time.Hour})
		defer r.Close()
		fetchCtx, stopFetch := context.WithCancel(context.Background())
		defer stopFetch()
		go func() { _, _ = r.FetchMessage(fetchCtx) }() // joins the group; nothing new arrives
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := k.Cluster.WaitGroupStable(ctx, f.group, 1); err != nil {
			t.Fatalf("group never stable: %v", err)
		}
		if got := measure(t, f.build(p, m{"topic": ""}, nil)); got != 3 { // latest, no commit: 1 per partition
			t.Errorf("lag = %v, want 3", got)
		}
	})
	t.Run("unknown topic", func(t *testing.T) {
		p := NewPool(testr.New(t))
		defer p.Close()
		f := newFixture(t, k, 0)
		_, err := f.build(p, nil, nil).Measure(context.Background())
		if err == nil || !strings.Contains(err.Error(), f.topic) {
			t.Errorf("err = %v, want one naming the topic", err)
		}
	})
}

func TestSASL(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	k, err := brokers.StartKafka(ctx, kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plainuser", "plain-pw"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "s256-pw"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "s512-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	if err := k.Cluster.CreateTopic("secure", 2, nil); err != nil {
		t.Fatal(err)
	}
	p := NewPool(testr.New(t))
	defer p.Close()
	cases := []struct {
		name       string
		auth       m
		wantErr    bool
		secretText string
	}{
		{"plaintext", m{"sasl": "plaintext", "username": "plainuser", "password": "plain-pw"}, false, ""},
		{"scram_sha256", m{"sasl": "scram_sha256", "username": "scram256", "password": "s256-pw"}, false, ""},
		{"scram_sha512", m{"sasl": "scram_sha512", "username": "scram512", "password": "s512-pw"}, false, ""},
		{"wrong password", m{"sasl": "scram_sha256", "username": "scram256", "password": "wrong-pw-42"}, true, "wrong-pw-42"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := p.Build(ctx, trigger.Spec{Type: "apache-kafka", AuthParams: tc.auth,
				Metadata: m{"bootstrapServers": k.Addr, "consumerGroup": "g", "topic": "secure"}})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Source.Close()
			mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			v, err := tr.Source.Measure(mctx)
			if tc.wantErr {
				if err == nil || strings.Contains(err.Error(), tc.secretText) {
					t.Errorf("err = %v, want a refusal without the password", err)
				}
				return
			}
			if err != nil || v != 2 { // no commits, latest: 1 per partition
				t.Errorf("Measure = %v, %v; want 2", v, err)
			}
		})
	}
}

// TestBrokerFaults cuts the broker's listener under a live trigger.
func TestBrokerFaults(t *testing.T) {
	k := broker(t)
	leaks := goleak.IgnoreCurrent()
	p := NewPool(testr.New(t))
	f := newFixture(t, k, 2)
	f.produce(f.topic, 0, 4)
	f.commit(f.topic, map[int]int64{0: 1, 1: 0})
	s := f.build(p, nil, nil)
	if got := measure(t, s); got != 3 {
		t.Fatalf("lag %v, want 3", got)
	}
	k.Pause()
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		start := time.Now()
		_, err := s.Measure(ctx)
		cancel()
		if err == nil {
			t.Fatal("Measure succeeded with the broker down")
		}
		if took := time.Since(start); took > 2500*time.Millisecond {
			t.Errorf("Measure took %v with a 2s deadline", took)
		}
		if i == 0 {
			t.Logf("while down: %v", err)
		}
	}
	k.Resume()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		v, err := s.Measure(ctx)
		cancel()
		if err == nil && v == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after resume: %v, %v", v, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	_ = s.Close()
	_ = p.Close()
	f.client.Transport.(*kafkago.Transport).CloseIdleConnections()
	goleak.VerifyNone(t, leaks)
}

func TestTLS(t *testing.T) {
	harness.Integration(t)
	ctx := context.Background()
	serverTLS, err := testPKI.ServerTLS(true)
	if err != nil {
		t.Fatal(err)
	}
	k, err := brokers.StartKafka(ctx, kfake.TLS(serverTLS))
	if err != nil {
		t.Fatal(err)
	}
	defer k.Stop()
	if err := k.Cluster.CreateTopic("tls", 3, nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		meta m
		auth m
		ok   bool
	}{
		{"mutual TLS", nil, m{"tls": "enable", "ca": testCA, "cert": testCert, "key": testKey}, true},
		{"tls in metadata", m{"tls": "enable"}, m{"ca": testCA, "cert": testCert, "key": testKey}, true},
		{"unsafeSsl skips server verification", m{"unsafeSsl": "true"}, m{"tls": "enable", "cert": testCert, "key": testKey}, true},
		{"unknown CA", nil, m{"tls": "enable", "cert": testCert, "key": testKey}, false},
		{"no client certificate", nil, m{"tls": "enable", "ca": testCA}, false},
		{"plain TCP to a TLS listener", nil, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPool(testr.New(t))
			defer p.Close()
			meta := m{"bootstrapServers": k.Addr, "consumerGroup": "g", "topic": "tls"}
			for key, v := range tc.meta {
				meta[key] = v
			}
			tr, err := p.Build(ctx, trigger.Spec{Type: "kafka", Metadata: meta, AuthParams: tc.auth})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Source.Close()
			mctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			defer cancel()
			v, err := tr.Source.Measure(mctx)
			if tc.ok && (err != nil || v != 3) {
				t.Errorf("Measure = %v, %v; want 3", v, err)
			}
			if !tc.ok && err == nil {
				t.Errorf("Measure succeeded, want a TLS failure")
			}
			if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("error prints key material: %v", err)
			}
		})
	}
}
