package loadgen

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surge-autoscaler/surge/bench/wire"
)

func TestSchedule(t *testing.T) {
	tests := []struct {
		name      string
		plan      []Step
		wantN     int
		wantFirst time.Duration
		wantLast  time.Duration
		wantErr   string
	}{
		{name: "burst", plan: []Step{{Burst: 300}}, wantN: 300, wantFirst: 0, wantLast: 0},
		{name: "steady", plan: []Step{{Rate: 10, Duration: 2 * time.Second}}, wantN: 20, wantLast: 1900 * time.Millisecond},
		{name: "idle then burst", plan: []Step{{Idle: 5 * time.Second}, {Burst: 2}}, wantN: 2,
			wantFirst: 5 * time.Second, wantLast: 5 * time.Second},
		// From 0 to 20 msg/s over 10 s: N(10 s) = 100, the k-th at sqrt(k/a) with a = 1.
		{name: "ramp from zero", plan: []Step{{Rate: 0, RateTo: 20, Duration: 10 * time.Second}}, wantN: 100,
			wantLast: time.Duration(math.Sqrt(99) * float64(time.Second))},
		{name: "ramp down", plan: []Step{{Rate: 20, RateTo: 10, Duration: 2 * time.Second}}, wantN: 30},
		{name: "two steps", plan: []Step{{Burst: 1}, {Rate: 1, Duration: 3 * time.Second}}, wantN: 4,
			wantLast: 2 * time.Second},
		{name: "empty step", plan: []Step{{}}, wantErr: "exactly one"},
		{name: "two kinds", plan: []Step{{Burst: 1, Idle: time.Second}}, wantErr: "exactly one"},
		{name: "rate without duration", plan: []Step{{Rate: 5}}, wantErr: "positive duration"},
		{name: "negative burst", plan: []Step{{Burst: -1}}, wantErr: "outside"},
		{name: "too many", plan: []Step{{Rate: 1e6, Duration: time.Hour}}, wantErr: "more than"},
		{name: "nan rate", plan: []Step{{Rate: math.NaN(), Duration: time.Second}}, wantErr: "finite"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Schedule(tt.plan)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.wantN {
				t.Fatalf("%d messages, want %d", len(got), tt.wantN)
			}
			for i := 1; i < len(got); i++ {
				if got[i].At < got[i-1].At || got[i].Seq != got[i-1].Seq+1 {
					t.Fatalf("message %d (%v, seq %d) out of order after (%v, seq %d)", i, got[i].At, got[i].Seq, got[i-1].At, got[i-1].Seq)
				}
			}
			if got[0].At != tt.wantFirst {
				t.Fatalf("first at %v, want %v", got[0].At, tt.wantFirst)
			}
			if tt.wantLast != 0 && absDur(got[len(got)-1].At-tt.wantLast) > time.Millisecond {
				t.Fatalf("last at %v, want %v", got[len(got)-1].At, tt.wantLast)
			}
			if end := Total(tt.plan); got[len(got)-1].At > end {
				t.Fatalf("last message at %v after the plan's end %v", got[len(got)-1].At, end)
			}
		})
	}
}

func TestRampRateFollowsTheRamp(t *testing.T) {
	// 10 → 50 msg/s over 20 s: count messages per second and compare with the rate
	// at the middle of that second.
	got, err := Schedule([]Step{{Rate: 10, RateTo: 50, Duration: 20 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 600 {
		t.Fatalf("%d messages, want 600", len(got))
	}
	perSecond := make([]int, 20)
	for _, p := range got {
		perSecond[int(p.At/time.Second)]++
	}
	for s, n := range perSecond {
		want := 10 + 40*(float64(s)+0.5)/20
		if math.Abs(float64(n)-want) > 1.01 {
			t.Errorf("second %d: %d messages, want %.1f", s, n, want)
		}
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// fakePublisher records messages; confirms fail for ids in nack. It is a fake.
type fakePublisher struct {
	mu   sync.Mutex
	got  []wire.Message
	nack map[int64]bool
	fail map[int64]bool
}

func (p *fakePublisher) Publish(_ context.Context, m wire.Message) (Confirm, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail[m.Seq] {
		return nil, errors.New("channel closed")
	}
	p.got = append(p.got, m)
	nack := p.nack[m.Seq]
	return func(context.Context) error {
		if nack {
			return errors.New("nacked")
		}
		return nil
	}, nil
}

func TestGenerator(t *testing.T) {
	pub := &fakePublisher{nack: map[int64]bool{3: true}, fail: map[int64]bool{5: true}}
	var steps []int
	g := &Generator{RunID: "run1", OnStep: func(i int, _ time.Time) { steps = append(steps, i) }}
	plan := []Step{{Burst: 4, WorkMillis: 7}, {Rate: 40, Duration: 100 * time.Millisecond}, {Idle: 30 * time.Millisecond}}
	res, err := g.Run(context.Background(), pub, plan)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Sent) != 8 {
		t.Fatalf("%d sent, want 8", len(res.Sent))
	}
	if res.Failed() != 2 || len(res.Confirmed()) != 6 {
		t.Fatalf("failed %d confirmed %d, want 2 and 6", res.Failed(), len(res.Confirmed()))
	}
	if len(steps) != 3 {
		t.Fatalf("OnStep called for %v, want 3 steps", steps)
	}
	seen := map[string]bool{}
	for i, s := range res.Sent {
		m := s.Message
		if seen[m.ID] || !strings.HasPrefix(m.ID, "run1-") || m.Run != "run1" || m.Seq != int64(i) {
			t.Fatalf("message %d: %+v", i, m)
		}
		seen[m.ID] = true
		if i < 4 && m.WorkMillis != 7 {
			t.Fatalf("burst message lost its work time: %+v", m)
		}
		if s.Err == nil && m.SentTime().Before(res.Start) {
			t.Fatalf("message %d sent before the start", i)
		}
	}
	// The steady step's k-th message must not leave before its time.
	for k, s := range res.Sent[4:] {
		due := res.Start.Add(time.Duration(k) * 25 * time.Millisecond)
		if s.Err == nil && s.Message.SentTime().Before(due) {
			t.Fatalf("steady message %d sent at %v, before it was due at %v", k, s.Message.SentTime(), due)
		}
	}
	if got := res.End.Sub(res.Start); got < 130*time.Millisecond {
		t.Fatalf("run took %v, shorter than the plan's 130ms", got)
	}
}

func TestGeneratorCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := (&Generator{RunID: "r"}).Run(ctx, &fakePublisher{}, []Step{{Rate: 10, Duration: time.Hour}})
	if err == nil {
		t.Fatal("no error after cancel")
	}
	if len(res.Confirmed()) != 0 {
		t.Fatalf("confirmed %d after cancel", len(res.Confirmed()))
	}
}
