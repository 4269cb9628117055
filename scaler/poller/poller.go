// Package poller runs every ScaledObject's poll on its pollingInterval from one
// shared scheduler: a min-heap of due times on an injected clock, and a fixed pool of
// workers. A key costs a heap entry, not a goroutine, so 5,000 ScaledObjects cost
// what their polls cost. One poll per key runs at a time; a poll that overruns its
// interval delays that key's next poll instead of stacking up.
package poller

import (
	"container/heap"
	"context"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Func polls one key. It must honour ctx and return; it is never called
// concurrently for the same key.
type Func func(ctx context.Context, key types.NamespacedName)

// Options configure a Poller.
type Options struct {
	// Clock schedules polls; default the real clock.
	Clock clock.WithTicker
	// Workers is the number of polls that may run at once; default 64.
	Workers int
	// Registerer, when set, receives surge_scaler_poll_delay_seconds (how late
	// each poll started against its schedule: the poll loop's jitter) and
	// surge_scaler_poll_duration_seconds.
	Registerer prometheus.Registerer
	// OnPoll, when set, is called at the start of every poll with how late it
	// started (benchmarks record jitter with it). It must not block.
	OnPoll func(key types.NamespacedName, delay time.Duration)
	// Log is the poller's logger.
	Log logr.Logger
}

// Poller schedules polls. Its methods are safe for concurrent use; Add, Remove and
// PollNow may be called before Start.
type Poller struct {
	opts  Options
	fn    Func
	mu    sync.Mutex
	items map[types.NamespacedName]*item
	queue queue
	wake  chan struct{}
	delay prometheus.Histogram
	took  prometheus.Histogram

	waiting bool // the scheduler is blocked until the next due time (tests read it)
	running int  // polls in progress
}

type item struct {
	key      types.NamespacedName
	interval time.Duration
	due      time.Time
	index    int // in queue; -1 when not queued (running or removed)
	running  bool
	removed  bool
	again    bool // PollNow while running: poll again right after
}

// New returns a Poller that calls fn for each due key once started.
func New(fn Func, opts Options) *Poller {
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Workers <= 0 {
		opts.Workers = 64
	}
	p := &Poller{opts: opts, fn: fn, items: map[types.NamespacedName]*item{}, wake: make(chan struct{}, 1),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "surge_scaler_poll_delay_seconds",
			Help:    "How late each poll started against its schedule (poll-loop jitter).",
			Buckets: []float64{.0001, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}),
		took: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "surge_scaler_poll_duration_seconds",
			Help:    "Duration of one ScaledObject's poll: measuring its triggers and deciding.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(p.delay, p.took)
	}
	return p
}

// Add schedules key every interval, polling it at once when it is new. For a known
// key it changes the interval, pulling the next poll in if it is now further away
// than one new interval.
func (p *Poller) Add(key types.NamespacedName, interval time.Duration) {
	if interval <= 0 {
		interval = time.Second
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Clock.Now()
	it, ok := p.items[key]
	if !ok {
		it = &item{key: key, interval: interval, due: now, index: -1}
		p.items[key] = it
		heap.Push(&p.queue, it)
		p.kick()
		return
	}
	it.interval = interval
	if it.index >= 0 && it.due.After(now.Add(interval)) {
		it.due = now.Add(interval)
		heap.Fix(&p.queue, it.index)
		p.kick()
	}
}

// Remove stops polling key. A poll already running finishes.
func (p *Poller) Remove(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	it, ok := p.items[key]
	if !ok {
		return
	}
	it.removed = true
	delete(p.items, key)
	if it.index >= 0 {
		heap.Remove(&p.queue, it.index)
	}
}

// PollNow polls key as soon as a worker is free (after its running poll, if any).
func (p *Poller) PollNow(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	it, ok := p.items[key]
	if !ok {
		return
	}
	if it.running {
		it.again = true
		return
	}
	it.due = p.opts.Clock.Now()
	heap.Fix(&p.queue, it.index)
	p.kick()
}

// Len returns the number of scheduled keys.
func (p *Poller) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// kick wakes the scheduler; p.mu is held.
func (p *Poller) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

type job struct {
	it  *item
	due time.Time
}

// Start runs the scheduler and its workers until ctx ends, then waits for running
// polls to return. It implements controller-runtime's Runnable.
func (p *Poller) Start(ctx context.Context) error {
	work := make(chan job)
	var wg sync.WaitGroup
	for range p.opts.Workers {
		wg.Go(func() {
			for j := range work {
				p.run(ctx, j)
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	timer := p.opts.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		due, wait := p.takeDue()
		for _, j := range due {
			select {
			case work <- j:
			case <-ctx.Done():
				return nil
			}
		}
		if len(due) > 0 {
			continue // time passed while dispatching; look again
		}
		if !timer.Stop() {
			select {
			case <-timer.C():
			default:
			}
		}
		timer.Reset(wait)
		p.setWaiting(true)
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-timer.C():
		}
		p.setWaiting(false)
	}
}

// takeDue pops every due item (marking it running) and returns how long until the
// next one is due.
func (p *Poller) takeDue() ([]job, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.opts.Clock.Now()
	var due []job
	for len(p.queue) > 0 && !p.queue[0].due.After(now) {
		it := heap.Pop(&p.queue).(*item)
		it.running = true
		p.running++
		due = append(due, job{it: it, due: it.due})
	}
	if len(p.queue) == 0 {
		return due, time.Hour
	}
	return due, p.queue[0].due.Sub(now)
}

func (p *Poller) run(ctx context.Context, j job) {
	start := p.opts.Clock.Now()
	late := start.Sub(j.due)
	p.delay.Observe(late.Seconds())
	if p.opts.OnPoll != nil {
		p.opts.OnPoll(j.it.key, late)
	}
	p.fn(ctx, j.it.key)
	end := p.opts.Clock.Now()
	p.took.Observe(end.Sub(start).Seconds())

	p.mu.Lock()
	defer p.mu.Unlock()
	it := j.it
	it.running = false
	p.running--
	if it.removed {
		return
	}
	// Fixed rate: the next poll is one interval after this one was due; if the poll
	// overran, start again at once rather than queueing missed polls.
	it.due = j.due.Add(it.interval)
	if it.again || it.due.Before(end) {
		it.due = end
	}
	it.again = false
	heap.Push(&p.queue, it)
	p.kick()
}

func (p *Poller) setWaiting(w bool) {
	p.mu.Lock()
	p.waiting = w
	p.mu.Unlock()
}

// settled reports whether no poll runs, none is due and the scheduler waits for the
// next due time: a fake clock may be stepped.
func (p *Poller) settled() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	nothingDue := len(p.queue) == 0 || p.queue[0].due.After(p.opts.Clock.Now())
	return p.waiting && p.running == 0 && nothingDue
}

// queue is a min-heap of items by due time.
type queue []*item

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].due.Before(q[j].due) }
func (q queue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = i, j
}

func (q *queue) Push(x any) {
	it := x.(*item)
	it.index = len(*q)
	*q = append(*q, it)
}

func (q *queue) Pop() any {
	old := *q
	n := len(old)
	it := old[n-1]
	old[n-1] = nil
	it.index = -1
	*q = old[:n-1]
	return it
}
