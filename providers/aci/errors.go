package aci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"

	"github.com/surge-autoscaler/surge/providers"
)

// APIError is an ARM error, reduced to what is safe to show: the operation, the
// group, the HTTP status, ARM's error code and message. It never carries the
// request (whose body holds secure environment values and registry passwords).
// It unwraps to the SDK's *azcore.ResponseError.
type APIError struct {
	Op         string
	Group      string
	StatusCode int
	Code       string
	Message    string
	// RetryAfter is the server's Retry-After on the last response, if any.
	RetryAfter time.Duration
	Err        error
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "aci %s", e.Op)
	if e.Group != "" {
		fmt.Fprintf(&b, " %s", e.Group)
	}
	fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the SDK's error.
func (e *APIError) Unwrap() error { return e.Err }

// RetryAfter returns how long to wait before retrying after err: the rest of our
// back-off for a BackoffError, else the server's Retry-After, if any.
func RetryAfter(err error) (time.Duration, bool) {
	var be *BackoffError
	if errors.As(err, &be) {
		return be.Remaining, true
	}
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter, true
	}
	return 0, false
}

// quotaCodes are ARM error codes that mean the subscription or region is out of
// quota or capacity for container groups. Any code containing "Quota" counts too.
var quotaCodes = map[string]bool{
	"containergroupquotareached": true,
	"resourcequotaexceeded":      true,
	"subscriptionquotaexceeded":  true,
}

// isQuotaCode reports whether an ARM error code is a quota error.
func isQuotaCode(code string) bool {
	c := strings.ToLower(code)
	return quotaCodes[c] || strings.Contains(c, "quota")
}

// classify turns an SDK error into a providers.Error of the right kind:
//
//	404                              -> NotFound
//	a quota code (any status)        -> QuotaExceeded
//	408, 429, 5xx, 409 Conflict,
//	  no response at all             -> Transient (the SDK has already retried)
//	other 4xx                        -> Unsupported (the spec is refused; retrying
//	                                    will not help), except 401/403 which stay
//	                                    unclassified: they are configuration errors
//
// Context errors are returned unchanged (wrapped with the operation).
func classify(op, group string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("aci %s %s: %w", op, group, err)
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return providers.NewError(providers.KindTransient, fmt.Errorf("aci %s %s: %w", op, group, err))
	}
	ae := &APIError{Op: op, Group: group, StatusCode: re.StatusCode, Code: re.ErrorCode, Err: re}
	if re.RawResponse != nil {
		ae.RetryAfter = retryAfter(re.RawResponse)
		if code, msg := armError(re.RawResponse); msg != "" || code != "" {
			ae.Message = msg
			if ae.Code == "" {
				ae.Code = code
			}
		}
	}
	switch s := re.StatusCode; {
	case s == http.StatusNotFound:
		return providers.NewError(providers.KindNotFound, ae)
	case isQuotaCode(ae.Code):
		return providers.NewError(providers.KindQuotaExceeded, ae)
	case s == http.StatusRequestTimeout || s == http.StatusTooManyRequests || s == http.StatusConflict || s >= 500:
		return providers.NewError(providers.KindTransient, ae)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return ae
	case s >= 400:
		return providers.NewError(providers.KindUnsupported, ae)
	}
	return ae
}

// backoffWorthy reports whether err should trip our back-off: throttling and
// server errors that outlived the SDK's retries, or no response at all.
func backoffWorthy(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.StatusCode == http.StatusTooManyRequests || ae.StatusCode >= 500
	}
	return providers.IsTransient(err)
}

// armError reads ARM's {"error":{"code":..,"message":..}} body, if present.
func armError(resp *http.Response) (code, message string) {
	body, err := runtime.Payload(resp)
	if err != nil || len(body) == 0 {
		return "", ""
	}
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil {
		return "", ""
	}
	const maxMessage = 1024
	msg := e.Error.Message
	if len(msg) > maxMessage {
		msg = msg[:maxMessage] + "..."
	}
	return e.Error.Code, msg
}

// retryAfter parses the retry-after-ms, x-ms-retry-after-ms and Retry-After
// (seconds or HTTP date) headers, in the SDK's order of preference.
func retryAfter(resp *http.Response) time.Duration {
	for _, h := range []string{"retry-after-ms", "x-ms-retry-after-ms"} {
		if ms, err := strconv.Atoi(resp.Header.Get(h)); err == nil && ms > 0 {
			return time.Duration(ms) * time.Millisecond
		}
	}
	v := resp.Header.Get("Retry-After")
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
