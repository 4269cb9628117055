package rabbitmq

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// measureLatencies runs Measure b.N times and reports p50 and p99 (µs) and allocs.
func measureLatencies(b *testing.B, s trigger.Source) {
	b.Helper()
	ctx := context.Background()
	if _, err := s.Measure(ctx); err != nil { // connect outside the timing
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if _, err := s.Measure(ctx); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	reportPercentiles(b, lat)
}

func reportPercentiles(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) }
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

func BenchmarkMeasure(b *testing.B) {
	r := node(b)
	c := dialClient(b, r.AMQPURL)
	c.queue(b, "bench")
	c.publish(b, "bench", 100)
	p := NewPool(logr.Discard())
	defer p.Close()
	b.Run("amqp", func(b *testing.B) {
		measureLatencies(b, build(b, p, m{"host": r.AMQPURL, "queueName": "bench"}, nil))
	})
	b.Run("http", func(b *testing.B) {
		measureLatencies(b, build(b, p, m{"host": mgmtHost(r, ""), "queueName": "bench"}, nil))
	})
}

// cpuSelf returns this process's user+system CPU time.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOf returns a process's user+system CPU time from /proc (clock ticks of 10 ms).
func cpuOf(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// Benchmark1000Queues reads 1,000 queues on one broker once a second, each trigger
// in its own goroutine as a poller would: one iteration is one second. It reports
// this process's CPU and the broker's (percent of one core), the time to read all
// 1,000 (p50/p99 of the rounds), and the AMQP connections open.
func Benchmark1000Queues(b *testing.B) {
	r := node(b)
	const n = 1000
	c := dialClient(b, r.AMQPURL)
	for i := 0; i < n; i++ {
		q := fmt.Sprintf("many-%d", i)
		if _, err := c.ch.QueueDeclare(q, false, false, false, false, nil); err != nil {
			b.Fatal(err)
		}
	}
	_ = c.conn.Close()
	for _, mode := range []string{"amqp", "http"} {
		b.Run(mode, func(b *testing.B) {
			p := NewPool(logr.Discard())
			defer p.Close()
			host := r.AMQPURL
			if mode == "http" {
				host = mgmtHost(r, "")
			}
			scalers := make([]trigger.Source, n)
			for i := range scalers {
				scalers[i] = build(b, p, m{"host": host, "queueName": fmt.Sprintf("many-%d", i)}, nil)
			}
			round := func() (time.Duration, int) {
				var wg sync.WaitGroup
				var mu sync.Mutex
				failed := 0
				reasons := map[string]int{}
				start := time.Now()
				for _, s := range scalers {
					wg.Add(1)
					go func(s trigger.Source) {
						defer wg.Done()
						ctx, cancel := context.WithTimeout(context.Background(), time.Second)
						defer cancel()
						if _, err := s.Measure(ctx); err != nil {
							mu.Lock()
							failed++
							reasons[err.Error()]++
							mu.Unlock()
						}
					}(s)
				}
				wg.Wait()
				took := time.Since(start)
				for r, k := range reasons {
					b.Logf("%d× %s", k, r)
				}
				return took, failed
			}
			round() // connect
			var rounds []time.Duration
			failures := 0
			tick := time.NewTicker(time.Second)
			defer tick.Stop()
			self0, broker0, wall0 := cpuSelf(), cpuOf(r.PID()), time.Now()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				<-tick.C
				d, f := round()
				rounds = append(rounds, d)
				failures += f
			}
			b.StopTimer()
			wall := time.Since(wall0)
			b.ReportMetric(100*float64(cpuSelf()-self0)/float64(wall), "scaler-cpu-%")
			b.ReportMetric(100*float64(cpuOf(r.PID())-broker0)/float64(wall), "broker-cpu-%")
			b.ReportMetric(float64(failures), "failed")
			b.ReportMetric(float64(p.Stats().AMQPConnections), "amqp-conns")
			slices.Sort(rounds)
			b.ReportMetric(float64(rounds[len(rounds)/2].Milliseconds()), "round-p50-ms")
			b.ReportMetric(float64(rounds[len(rounds)-1].Milliseconds()), "round-max-ms")
		})
	}
}
