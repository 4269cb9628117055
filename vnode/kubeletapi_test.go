package vnode

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseLogQuery(t *testing.T) {
	tests := []struct {
		q      string
		tail   int
		follow bool
		limit  int64
		err    string
	}{
		{q: ""},
		{q: "tailLines=10&follow=true&limitBytes=5", tail: 10, follow: true, limit: 5},
		{q: "tailLines=-1", err: "tailLines"},
		{q: "tailLines=x", err: "tailLines"},
		{q: "limitBytes=0", err: "limitBytes"},
		{q: "follow=maybe", err: "follow"},
		{q: "previous=true", err: "previous"},
		{q: "previous=false&tailLines=1", tail: 1},
		{q: "sinceSeconds=10", err: "sinceSeconds"},
		{q: "sinceTime=2026-01-01T00:00:00Z", err: "sinceTime"},
	}
	for _, tc := range tests {
		t.Run(tc.q, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.q)
			got, err := ParseLogQuery(v)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got.Tail != tc.tail || got.Follow != tc.follow || got.LimitBytes != tc.limit {
				t.Fatalf("got %+v, %v", got, err)
			}
		})
	}
}

func FuzzParseLogQuery(f *testing.F) {
	for _, s := range []string{"tailLines=3", "follow=1&limitBytes=9", "previous=true", "tailLines=99999999999999999999", "%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		q, err := ParseLogQuery(v)
		if err == nil && (q.Tail < 0 || q.LimitBytes < 0) {
			t.Fatalf("accepted negative values: %+v", q)
		}
	})
}

func TestKubeletAPI(t *testing.T) {
	r := newRig(t)
	p := pod("logs")
	p.Spec.Containers[0].Args = []string{"hello-from-the-instance"}
	r.addToLister(p)
	if err := r.h.CreatePod(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	r.clk.Step(2 * time.Second)
	tests := []struct {
		name      string
		anonymous bool
		path      string
		code      int
		body      string
	}{
		{"logs", true, "/containerLogs/ns/logs/c", 200, "hello-from-the-instance"},
		{"tail", true, "/containerLogs/ns/logs/c?tailLines=1", 200, "hello-from-the-instance"},
		{"limit", true, "/containerLogs/ns/logs/c?limitBytes=4", 200, "2027"},
		{"unknown pod", true, "/containerLogs/ns/nope/c", 404, "not on this node"},
		{"unknown container", true, "/containerLogs/ns/logs/zz", 404, "no container"},
		{"bad query", true, "/containerLogs/ns/logs/c?previous=true", 400, "previous"},
		{"exec", true, "/exec/ns/logs/c?command=sh", 501, "not supported"},
		{"pods", true, "/pods", 200, `"name":"logs"`},
		{"healthz", false, "/healthz", 200, "ok"},
		{"anonymous refused", false, "/containerLogs/ns/logs/c", 401, "client certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, err := NewKubeletAPI(APIConfig{AllowAnonymous: tc.anonymous}, r.h, r.b, "vn", "127.0.0.1", r.h.log)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- api.Serve(ctx) }()
			defer func() { cancel(); <-done }()
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
			resp, err := c.Get("https://127.0.0.1:" + strconv.Itoa(api.Port()) + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			c.CloseIdleConnections()
			if resp.StatusCode != tc.code || !strings.Contains(string(body), tc.body) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tc.path, resp.StatusCode, body, tc.code, tc.body)
			}
			if tc.name == "tail" && strings.Count(string(body), "\n") != 1 {
				t.Fatalf("tailLines=1 gave %q", body)
			}
		})
	}
}
