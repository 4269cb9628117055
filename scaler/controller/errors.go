package controller

import (
	"fmt"
	"strings"
)

// specError is a problem with a ScaledObject's spec or with what it references. It
// becomes Ready=False with Reason, a message naming the field, and a Warning event;
// nothing else changes (the target and the HPA are left as they are).
type specError struct {
	Reason string
	Field  string
	Msg    string
}

func (e *specError) Error() string { return e.Field + ": " + e.Msg }

func newSpecError(reason, field, format string, args ...any) *specError {
	return &specError{Reason: reason, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// specErrors is every problem found in one pass, reported together.
type specErrors []*specError

func (es specErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "; ")
}

// reason is the first error's reason.
func (es specErrors) reason() string {
	if len(es) == 0 {
		return ""
	}
	return es[0].Reason
}
