// Package worker is the bench worker that burst pods run: a RabbitMQ consumer
// (amqp091-go) or a Kafka consumer (kafka-go) that spends a configured time on each
// message and reports a wire.Record for it to a results queue (or topic).
//
// Delivery semantics, chosen so that "messages lost = 0" can be checked from outside:
//
//   - AMQP: manual acks with a prefetch (basic.qos). A message is acknowledged only
//     after its record was confirmed by the broker, so a crash between the two yields
//     a duplicate (counted by the report), never a loss.
//   - On stop (SIGTERM) the worker cancels its consumer at once, lets in-flight work
//     run for up to Grace, then gives back (nack with requeue) whatever is still
//     running; prefetched messages that never started are given back immediately.
//   - Kafka: one message at a time per reader; its offset is committed after the
//     record was written. A message abandoned at stop is not committed, so the group's
//     next owner of the partition receives it again.
package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/utils/clock"

	"github.com/surge-autoscaler/surge/bench/wire"
)

// Sink receives the worker's records. Send returns once the record is durable (the
// broker confirmed it); it is safe for concurrent use.
type Sink interface {
	Send(ctx context.Context, rec wire.Record) error
}

// Delivery is what the processor needs to know about one received message.
type Delivery struct {
	Body        []byte
	MessageID   string // transport-level id (AMQP message-id, Kafka key), may be ""
	Redelivered bool
}

// Result is what the transport must do with a delivery after Process.
type Result int

// Results of processing one delivery.
const (
	// Ack: the work is done and its record is durable; acknowledge / commit.
	Ack Result = iota
	// Requeue: give the message back (stopped before the work finished, or the record
	// could not be written).
	Requeue
	// Drop: the message is malformed and will never succeed; reject without requeue.
	Drop
)

// String names the result for logs.
func (r Result) String() string {
	switch r {
	case Ack:
		return "ack"
	case Requeue:
		return "requeue"
	case Drop:
		return "drop"
	}
	return fmt.Sprintf("Result(%d)", int(r))
}

// processor does the work for one message and reports it; it knows nothing of the
// transport.
type processor struct {
	pod      string
	workTime time.Duration
	sink     Sink
	clock    clock.PassiveClock
	timers   clock.WithTicker
	log      logr.Logger
	// sendTimeout bounds Send; records are sent even while stopping.
	sendTimeout time.Duration
}

// process works on d until the work time passed or abort is closed, then sends the
// record and returns what to do with the delivery. abort is the "grace period over"
// signal, not the "stop consuming" signal: in-flight work normally finishes.
func (p *processor) process(abort <-chan struct{}, d Delivery) Result {
	msg, err := wire.DecodeMessage(d.Body)
	if err != nil {
		p.log.Info("Dropping malformed message", "messageID", d.MessageID, "err", err.Error())
		return Drop
	}
	rec := wire.Record{
		ID:          msg.ID,
		Run:         msg.Run,
		Pod:         p.pod,
		Start:       p.clock.Now().UnixNano(),
		Redelivered: d.Redelivered,
		Outcome:     wire.OutcomeDone,
	}
	work := p.workTime
	if msg.WorkMillis > 0 {
		work = time.Duration(msg.WorkMillis) * time.Millisecond
	}
	if work > 0 {
		t := p.timers.NewTimer(work)
		select {
		case <-t.C():
		case <-abort:
			t.Stop()
			rec.Outcome = wire.OutcomeRequeued
		}
	} else {
		select {
		case <-abort:
			rec.Outcome = wire.OutcomeRequeued
		default:
		}
	}
	rec.End = p.clock.Now().UnixNano()

	// The record must be written even though the run is stopping: use a fresh context.
	ctx, cancel := context.WithTimeout(context.Background(), p.sendTimeout)
	defer cancel()
	if err := p.sink.Send(ctx, rec); err != nil {
		if rec.Outcome == wire.OutcomeDone {
			// No record means nobody knows the work was done: do it again elsewhere.
			p.log.Error(err, "Record not written, requeueing message", "id", rec.ID)
		}
		return Requeue
	}
	if rec.Outcome == wire.OutcomeRequeued {
		p.log.Info("Grace period over, requeueing in-flight message", "id", rec.ID)
		return Requeue
	}
	return Ack
}

// errStopped reports that the worker stopped because its context ended.
var errStopped = errors.New("worker stopped")

// graceSignal returns a channel that is closed grace after stop is closed, and a
// function releasing the timer.
func graceSignal(timers clock.WithTicker, stop <-chan struct{}, grace time.Duration) (<-chan struct{}, func()) {
	abort := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-stop:
		case <-done:
			return
		}
		t := timers.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C():
			close(abort)
		case <-done:
		}
	}()
	return abort, func() { close(done) }
}
