// Package wire holds the formats shared by the load generator, the bench worker and
// the watcher: the Message the load generator publishes and the Record a worker sends
// back for every message it handled. Both travel as JSON; times are Unix nanoseconds so
// that records from many processes on one machine compare exactly.
package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is the body of one published work item.
type Message struct {
	// ID is unique within a run; it is also set as the AMQP message-id / Kafka key.
	ID string `json:"id"`
	// Run names the run that published the message, so stale messages are recognised.
	Run string `json:"run"`
	// Seq is the message's position in the run's schedule, from 0.
	Seq int64 `json:"seq"`
	// SentUnixNano is when the load generator handed the message to the client.
	SentUnixNano int64 `json:"sent"`
	// WorkMillis, when > 0, overrides the worker's configured work time.
	WorkMillis int64 `json:"work_ms,omitempty"`
}

// Outcome is what a worker did with a message.
type Outcome string

// Outcomes of a handled message.
const (
	// OutcomeDone means the work finished and the message was acknowledged (AMQP) or
	// is about to be committed (Kafka).
	OutcomeDone Outcome = "done"
	// OutcomeRequeued means the worker was stopped before the work finished and gave
	// the message back (AMQP nack with requeue; Kafka: offset not committed).
	OutcomeRequeued Outcome = "requeued"
)

// Record is what a worker reports for one message it handled.
type Record struct {
	ID    string `json:"id"`
	Run   string `json:"run"`
	Pod   string `json:"pod"`
	Start int64  `json:"start"` // Unix nanoseconds, work started
	End   int64  `json:"end"`   // Unix nanoseconds, work finished or abandoned
	// Redelivered is true when the broker flagged the delivery as a redelivery.
	Redelivered bool    `json:"redelivered,omitempty"`
	Outcome     Outcome `json:"outcome"`
}

// StartTime returns Start as a time.Time.
func (r Record) StartTime() time.Time { return time.Unix(0, r.Start) }

// EndTime returns End as a time.Time.
func (r Record) EndTime() time.Time { return time.Unix(0, r.End) }

// SentTime returns SentUnixNano as a time.Time.
func (m Message) SentTime() time.Time { return time.Unix(0, m.SentUnixNano) }

// ErrInvalid is wrapped by every decoding error for a well-formed JSON document that
// is not a valid Message or Record.
var ErrInvalid = errors.New("invalid")

// maxBody bounds what the decoders accept; bench messages are ~100 bytes.
const maxBody = 64 << 10

// DecodeMessage parses and validates a Message body.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if len(b) > maxBody {
		return m, fmt.Errorf("message body of %d bytes exceeds %d: %w", len(b), maxBody, ErrInvalid)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	switch {
	case m.ID == "":
		return Message{}, fmt.Errorf("message without id: %w", ErrInvalid)
	case m.Seq < 0:
		return Message{}, fmt.Errorf("message %q has negative seq %d: %w", m.ID, m.Seq, ErrInvalid)
	case m.WorkMillis < 0:
		return Message{}, fmt.Errorf("message %q has negative work_ms %d: %w", m.ID, m.WorkMillis, ErrInvalid)
	}
	return m, nil
}

// DecodeRecord parses and validates a Record body.
func DecodeRecord(b []byte) (Record, error) {
	var r Record
	if len(b) > maxBody {
		return r, fmt.Errorf("record body of %d bytes exceeds %d: %w", len(b), maxBody, ErrInvalid)
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return Record{}, fmt.Errorf("decode record: %w", err)
	}
	switch {
	case r.ID == "":
		return Record{}, fmt.Errorf("record without id: %w", ErrInvalid)
	case r.Outcome != OutcomeDone && r.Outcome != OutcomeRequeued:
		return Record{}, fmt.Errorf("record %q has outcome %q, want %q or %q: %w",
			r.ID, r.Outcome, OutcomeDone, OutcomeRequeued, ErrInvalid)
	case r.End < r.Start:
		return Record{}, fmt.Errorf("record %q ends before it starts: %w", r.ID, ErrInvalid)
	}
	return r, nil
}

// Encode marshals v (a Message or Record) to JSON.
func Encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		// Message and Record hold only strings, integers and booleans.
		panic(fmt.Sprintf("wire: marshal %T: %v", v, err))
	}
	return b
}
