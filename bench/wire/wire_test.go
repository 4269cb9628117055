package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeMessage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    Message
		wantErr string
	}{
		{name: "valid", in: `{"id":"r-1","run":"r","seq":1,"sent":5,"work_ms":20}`,
			want: Message{ID: "r-1", Run: "r", Seq: 1, SentUnixNano: 5, WorkMillis: 20}},
		{name: "missing id", in: `{"seq":1}`, wantErr: "without id"},
		{name: "negative seq", in: `{"id":"a","seq":-1}`, wantErr: "negative seq"},
		{name: "negative work", in: `{"id":"a","work_ms":-1}`, wantErr: "negative work_ms"},
		{name: "not json", in: `hello`, wantErr: "decode message"},
		{name: "too big", in: `{"id":"` + strings.Repeat("a", maxBody) + `"}`, wantErr: "exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeMessage([]byte(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRecord(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "done", in: `{"id":"a","pod":"p","start":1,"end":2,"outcome":"done"}`},
		{name: "requeued", in: `{"id":"a","pod":"p","start":1,"end":1,"outcome":"requeued"}`},
		{name: "bad outcome", in: `{"id":"a","start":1,"end":2,"outcome":"maybe"}`, wantErr: "outcome"},
		{name: "ends before start", in: `{"id":"a","start":3,"end":2,"outcome":"done"}`, wantErr: "ends before"},
		{name: "missing id", in: `{"outcome":"done"}`, wantErr: "without id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeRecord([]byte(tt.in))
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				if strings.Contains(tt.wantErr, "outcome") && !errors.Is(err, ErrInvalid) {
					t.Fatalf("err %v does not wrap ErrInvalid", err)
				}
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	r := Record{ID: "x", Run: "r", Pod: "p", Start: 10, End: 20, Redelivered: true, Outcome: OutcomeDone}
	got, err := DecodeRecord(Encode(r))
	if err != nil {
		t.Fatal(err)
	}
	if got != r {
		t.Fatalf("got %+v, want %+v", got, r)
	}
	if r.EndTime().Sub(r.StartTime()) != 10 {
		t.Fatalf("duration = %v", r.EndTime().Sub(r.StartTime()))
	}
}

func FuzzDecodeMessage(f *testing.F) {
	f.Add([]byte(`{"id":"r-1","run":"r","seq":1,"sent":5,"work_ms":20}`))
	f.Add([]byte(`{"id":""}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"id":"a","seq":-9223372036854775808}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if m.ID == "" || m.Seq < 0 || m.WorkMillis < 0 {
			t.Fatalf("accepted invalid message %+v", m)
		}
		again, err := DecodeMessage(Encode(m))
		if err != nil || again != m {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"id":"a","pod":"p","start":1,"end":2,"outcome":"done"}`))
	f.Add([]byte(`{"id":"a","outcome":"requeued","redelivered":true}`))
	f.Add([]byte(`{"id":"a","start":3,"end":2,"outcome":"done"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			return
		}
		if r.ID == "" || r.End < r.Start || (r.Outcome != OutcomeDone && r.Outcome != OutcomeRequeued) {
			t.Fatalf("accepted invalid record %+v", r)
		}
		again, err := DecodeRecord(Encode(r))
		if err != nil || again != r {
			t.Fatalf("round trip: %+v, %v", again, err)
		}
	})
}
