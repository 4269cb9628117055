package providers

import "errors"

// Kind classifies a backend error.
type Kind string

// Error kinds every backend maps its failures to.
const (
	KindNotFound      Kind = "NotFound"
	KindQuotaExceeded Kind = "QuotaExceeded"
	KindUnsupported   Kind = "Unsupported"
	KindTransient     Kind = "Transient"
)

// Error is a classified backend error. Err is the backend's own error.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return string(e.Kind)
	}
	return string(e.Kind) + ": " + e.Err.Error()
}

// Unwrap returns the backend's own error.
func (e *Error) Unwrap() error { return e.Err }

// NewError wraps err as a backend error of the given kind.
func NewError(kind Kind, err error) error { return &Error{Kind: kind, Err: err} }

func isKind(err error, k Kind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == k
}

// IsNotFound reports whether err says the instance does not exist.
func IsNotFound(err error) bool { return isKind(err, KindNotFound) }

// IsQuotaExceeded reports whether err says the backend is out of quota or capacity.
func IsQuotaExceeded(err error) bool { return isKind(err, KindQuotaExceeded) }

// IsUnsupported reports whether err says the spec asks for something the backend
// cannot do; retrying will not help and the pod should fail with the reason.
func IsUnsupported(err error) bool { return isKind(err, KindUnsupported) }

// IsTransient reports whether err is worth retrying (throttling, 5xx, a broken
// connection).
func IsTransient(err error) bool { return isKind(err, KindTransient) }
