package aci

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/surge-autoscaler/surge/providers"
)

// armResponseError builds the SDK's error for an ARM error response.
func armResponseError(status int, code, message string, header http.Header) error {
	body := `{"error":{"code":"` + code + `","message":"` + message + `"}}`
	if header == nil {
		header = http.Header{}
	}
	req, _ := http.NewRequest(http.MethodPut, "https://management.azure.com/subscriptions/s/resourceGroups/rg", nil)
	return runtime.NewResponseError(&http.Response{
		StatusCode: status, Header: header, Body: io.NopCloser(bytes.NewBufferString(body)), Request: req,
	})
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		kind       providers.Kind // "" = unclassified
		retryAfter time.Duration
		text       []string
	}{
		{name: "not found", err: armResponseError(404, "ResourceNotFound", "gone", nil), kind: providers.KindNotFound,
			text: []string{"aci get g: HTTP 404 ResourceNotFound: gone"}},
		{name: "throttled with Retry-After seconds", err: armResponseError(429, "TooManyRequests", "slow down", http.Header{"Retry-After": {"7"}}),
			kind: providers.KindTransient, retryAfter: 7 * time.Second, text: []string{"retry after 7s"}},
		{name: "throttled with retry-after-ms", err: armResponseError(429, "TooManyRequests", "", http.Header{"Retry-After-Ms": {"250"}}),
			kind: providers.KindTransient, retryAfter: 250 * time.Millisecond},
		{name: "server error", err: armResponseError(503, "ServiceUnavailable", "busy", nil), kind: providers.KindTransient},
		{name: "conflict: another operation in progress", err: armResponseError(409, "AnotherOperationInProgress", "", nil), kind: providers.KindTransient},
		{name: "quota", err: armResponseError(400, "ContainerGroupQuotaReached", "Resource type 'Microsoft.ContainerInstance/containerGroups' container group quota 'StandardCores' exceeded", nil),
			kind: providers.KindQuotaExceeded, text: []string{"ContainerGroupQuotaReached", "StandardCores"}},
		{name: "any quota code", err: armResponseError(409, "RegionalQuotaExceeded", "", nil), kind: providers.KindQuotaExceeded},
		{name: "bad request is refused", err: armResponseError(400, "InvalidContainerGroupName", "bad name", nil), kind: providers.KindUnsupported},
		{name: "forbidden stays unclassified", err: armResponseError(403, "AuthorizationFailed", "no role", nil), text: []string{"AuthorizationFailed"}},
		{name: "no response at all", err: errors.New("dial tcp: connection refused"), kind: providers.KindTransient},
		{name: "canceled", err: context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := classify("get", "g", tc.err)
			var pe *providers.Error
			gotKind := providers.Kind("")
			if errors.As(err, &pe) {
				gotKind = pe.Kind
			}
			if gotKind != tc.kind {
				t.Fatalf("kind %q, want %q (err %v)", gotKind, tc.kind, err)
			}
			if !errors.Is(err, tc.err) && !errors.As(err, new(*APIError)) {
				t.Fatalf("classified error %v lost its cause", err)
			}
			if ra, _ := RetryAfter(err); ra != tc.retryAfter {
				t.Fatalf("RetryAfter = %v, want %v", ra, tc.retryAfter)
			}
			for _, s := range tc.text {
				if !strings.Contains(err.Error(), s) {
					t.Fatalf("error %q does not contain %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "management.azure.com") {
				t.Fatalf("error %q carries the request URL", err)
			}
		})
	}
	if classify("get", "g", nil) != nil {
		t.Fatal("classify(nil) is not nil")
	}
}

func TestBackoffWorthy(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"429", classify("x", "g", armResponseError(429, "TooManyRequests", "", nil)), true},
		{"500", classify("x", "g", armResponseError(500, "InternalServerError", "", nil)), true},
		{"no response", classify("x", "g", errors.New("reset")), true},
		{"409 is transient but not throttling", classify("x", "g", armResponseError(409, "Conflict", "", nil)), false},
		{"404", classify("x", "g", armResponseError(404, "ResourceNotFound", "", nil)), false},
		{"quota", classify("x", "g", armResponseError(400, "ContainerGroupQuotaReached", "", nil)), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := backoffWorthy(tc.err); got != tc.want {
				t.Fatalf("backoffWorthy(%v) = %v, want %v", tc.err, got, tc.want)
			}
		})
	}
}
