package rabbitmq

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-logr/logr"

	"github.com/surge-autoscaler/surge/scaler/trigger"
)

// fakeManagement is a stand-in for the management API answering canned JSON, for the
// unit tests of URL building, aggregation and error mapping (the integration tests
// use a real node).
func fakeManagement(t *testing.T, status int, body string, seen *[]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		*seen = append(*seen, r.URL.RequestURI()+" auth="+u+":"+p)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

const threeQueues = `{"items":[
 {"name":"a-incoming","messages":10,"messages_ready":4,"message_stats":{"publish_details":{"rate":1.5},"deliver_get_details":{"rate":3}}},
 {"name":"b-incoming","messages":3,"messages_ready":3},
 {"name":"c-incoming","messages":2,"messages_ready":1,"message_stats":{"publish_details":{"rate":0.5}}}],
 "page_count":1}`

func TestHTTPMeasure(t *testing.T) {
	cases := []struct {
		name    string
		meta    m
		status  int
		body    string
		want    float64
		wantURL string
		wantErr string
	}{
		{name: "queue length counts unacked", meta: m{"queueName": "q"}, status: 200,
			body: `{"name":"q","messages":12,"messages_ready":5}`, want: 12, wantURL: "/api/queues/%2F/q?columns="},
		{name: "exclude unacked", meta: m{"queueName": "q", "excludeUnacknowledged": "true"}, status: 200,
			body: `{"name":"q","messages":12,"messages_ready":5}`, want: 5},
		{name: "fresh queue without fields", meta: m{"queueName": "q"}, status: 200, body: `{"name":"q"}`, want: 0},
		{name: "message rate", meta: m{"queueName": "q", "mode": "MessageRate", "value": "10"}, status: 200,
			body: `{"messages":1,"message_stats":{"publish_details":{"rate":7.25}}}`, want: 7.25},
		{name: "deliver get rate", meta: m{"queueName": "q", "mode": "DeliverGetRate", "value": "10"}, status: 200,
			body: `{"message_stats":{"deliver_get_details":{"rate":2.5}}}`, want: 2.5},
		{name: "regex sum", meta: m{"queueName": "^.*incoming$", "useRegex": "true"}, status: 200, body: threeQueues, want: 15,
			wantURL: "name=%5E.%2Aincoming%24"},
		{name: "regex max", meta: m{"queueName": ".*", "useRegex": "true", "operation": "max"}, status: 200, body: threeQueues, want: 10},
		{name: "regex avg truncates counts like KEDA", meta: m{"queueName": ".*", "useRegex": "true", "operation": "avg"}, status: 200, body: threeQueues, want: 5},
		{name: "regex avg rate", meta: m{"queueName": ".*", "useRegex": "true", "operation": "avg", "mode": "MessageRate", "value": "1"}, status: 200, body: threeQueues, want: 2.0 / 3},
		{name: "regex ready only", meta: m{"queueName": ".*", "useRegex": "true", "excludeUnacknowledged": "true"}, status: 200, body: threeQueues, want: 8},
		{name: "regex none match", meta: m{"queueName": "zzz", "useRegex": "true"}, status: 200, body: `{"items":[],"page_count":0}`, want: 0},
		{name: "regex too many", meta: m{"queueName": ".*", "useRegex": "true", "pageSize": "2"}, status: 200,
			body: `{"items":[{},{}],"page_count":2}`, wantErr: "more than pageSize=2 queues match", wantURL: "page_size=2"},
		{name: "not found", meta: m{"queueName": "q"}, status: 404, body: `{"error":"Object Not Found","reason":"Not Found"}`,
			wantErr: `queue "q" in vhost "/": not found (404 Not Found): {"error":"Object Not Found"`},
		{name: "unauthorized", meta: m{"queueName": "q"}, status: 401, body: `{"error":"not_authorised"}`, wantErr: "access refused"},
		{name: "garbage", meta: m{"queueName": "q"}, status: 200, body: `<html>`, wantErr: "decode queue"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var seen []string
			srv := fakeManagement(t, tc.status, tc.body, &seen)
			meta := m{"host": strings.Replace(srv.URL, "http://", "http://user:topsecret@", 1) + "/"}
			for k, v := range tc.meta {
				meta[k] = v
			}
			p := NewPool(logr.Discard())
			defer p.Close()
			tr, err := p.Build(context.Background(), trigger.Spec{Type: Type, Metadata: meta})
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Source.Close()
			got, err := tr.Source.Measure(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "topsecret") {
					t.Errorf("error prints the password: %v", err)
				}
			} else if err != nil || got != tc.want {
				t.Fatalf("Measure = %v, %v; want %v", got, err, tc.want)
			}
			if len(seen) != 1 || !strings.Contains(seen[0], tc.wantURL) || !strings.HasSuffix(seen[0], "auth=user:topsecret") {
				t.Errorf("requests %q, want one containing %q with basic auth", seen, tc.wantURL)
			}
		})
	}
}

func TestHTTPTransportShared(t *testing.T) {
	var seen []string
	srv := fakeManagement(t, 200, `{"messages":1}`, &seen)
	p := NewPool(logr.Discard())
	defer p.Close()
	var scalers []trigger.Source
	for _, q := range []string{"a", "b", "c"} {
		tr, err := p.Build(context.Background(), trigger.Spec{Type: Type, Metadata: m{"host": srv.URL + "/", "queueName": q}})
		if err != nil {
			t.Fatal(err)
		}
		scalers = append(scalers, tr.Source)
	}
	if st := p.Stats(); st.Brokers != 1 {
		t.Errorf("3 triggers on one endpoint use %d transports", st.Brokers)
	}
	for _, s := range scalers {
		_ = s.Close()
	}
	if st := p.Stats(); st.Brokers != 0 {
		t.Errorf("after Close: %+v", st)
	}
}
