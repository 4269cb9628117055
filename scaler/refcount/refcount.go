// Package refcount shares one value per key among the triggers that use it: the
// connection pools of scaler/rabbitmq (one AMQP connection per broker, one HTTP
// transport per management endpoint) and scaler/kafka (one transport per cluster)
// are each a [Map]. The first Acquire of a key opens the value, the last Release
// closes it, and Close closes everything at once.
package refcount

import "sync"

// Map shares one V per key. V is normally a pointer, compared by identity. It is
// safe for concurrent use.
type Map[V comparable] struct {
	close     func(V)
	errClosed error

	mu     sync.Mutex
	m      map[string]*held[V]
	closed bool
}

type held[V comparable] struct {
	v    V
	refs int
}

// New returns an empty Map that closes values with closeFn (called without the Map's
// lock held) and fails Acquire with errClosed after Close.
func New[V comparable](closeFn func(V), errClosed error) *Map[V] {
	return &Map[V]{close: closeFn, errClosed: errClosed, m: map[string]*held[V]{}}
}

// Acquire returns key's value, opening it with open when nobody holds it. open runs
// under the Map's lock and must not block on I/O. Every successful Acquire must be
// matched by one Release.
func (m *Map[V]) Acquire(key string, open func() (V, error)) (V, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var zero V
	if m.closed {
		return zero, m.errClosed
	}
	h, ok := m.m[key]
	if !ok {
		v, err := open()
		if err != nil {
			return zero, err
		}
		h = &held[V]{v: v}
		m.m[key] = h
	}
	h.refs++
	return h.v, nil
}

// Release gives back one hold of v, acquired under key; the last one closes v. A
// value the Map no longer holds under key (after Close) is left alone: Close closed
// it.
func (m *Map[V]) Release(key string, v V) {
	m.mu.Lock()
	h, ok := m.m[key]
	last := false
	if ok && h.v == v {
		h.refs--
		if last = h.refs <= 0; last {
			delete(m.m, key)
		}
	}
	m.mu.Unlock()
	if last {
		m.close(v)
	}
}

// Values returns the values held now.
func (m *Map[V]) Values() []V {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]V, 0, len(m.m))
	for _, h := range m.m {
		out = append(out, h.v)
	}
	return out
}

// Len returns how many values are held now.
func (m *Map[V]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// Close closes every value; later Acquires fail with the Map's closed error.
func (m *Map[V]) Close() {
	m.mu.Lock()
	m.closed = true
	all := m.m
	m.m = map[string]*held[V]{}
	m.mu.Unlock()
	for _, h := range all {
		m.close(h.v)
	}
}
