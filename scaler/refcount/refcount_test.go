package refcount

import (
	"errors"
	"sync"
	"testing"
)

type conn struct{ closed int }

var errClosed = errors.New("closed")

func newMap() (*Map[*conn], *int) {
	opened := 0
	return New(func(c *conn) { c.closed++ }, errClosed), &opened
}

func TestShareAndCloseOnLastRelease(t *testing.T) {
	m, opened := newMap()
	open := func() (*conn, error) { *opened++; return &conn{}, nil }
	a, _ := m.Acquire("k", open)
	b, _ := m.Acquire("k", open)
	if a != b || *opened != 1 {
		t.Fatalf("two holders of one key got %p and %p after %d opens; want one shared value", a, b, *opened)
	}
	other, _ := m.Acquire("other", open)
	if other == a || m.Len() != 2 {
		t.Fatalf("another key shares the value or is not held (len %d)", m.Len())
	}
	m.Release("k", a)
	if a.closed != 0 {
		t.Fatal("closed while a holder remains")
	}
	m.Release("k", a)
	if a.closed != 1 || m.Len() != 1 {
		t.Fatalf("last release: closed %d times, %d held; want 1 and 1", a.closed, m.Len())
	}
	c, _ := m.Acquire("k", open)
	if c == a || *opened != 3 {
		t.Fatal("a key released to zero must open a new value")
	}
}

func TestOpenErrorHoldsNothing(t *testing.T) {
	m, _ := newMap()
	boom := errors.New("boom")
	if _, err := m.Acquire("k", func() (*conn, error) { return nil, boom }); !errors.Is(err, boom) || m.Len() != 0 {
		t.Fatalf("Acquire: %v, %d held; want boom and nothing held", err, m.Len())
	}
}

func TestCloseClosesAllOnceAndRefusesAcquire(t *testing.T) {
	m, _ := newMap()
	a, _ := m.Acquire("a", func() (*conn, error) { return &conn{}, nil })
	b, _ := m.Acquire("b", func() (*conn, error) { return &conn{}, nil })
	if len(m.Values()) != 2 {
		t.Fatalf("Values: %d, want 2", len(m.Values()))
	}
	m.Close()
	if a.closed != 1 || b.closed != 1 {
		t.Fatalf("Close: closed %d and %d times, want once each", a.closed, b.closed)
	}
	m.Release("a", a) // a holder releasing after Close must not close again
	if a.closed != 1 {
		t.Fatalf("Release after Close closed again (%d)", a.closed)
	}
	if _, err := m.Acquire("a", func() (*conn, error) { return &conn{}, nil }); !errors.Is(err, errClosed) {
		t.Fatalf("Acquire after Close: %v, want the Map's closed error", err)
	}
}

func TestConcurrentHolders(t *testing.T) {
	m, opened := newMap()
	var mu sync.Mutex
	open := func() (*conn, error) { mu.Lock(); *opened++; mu.Unlock(); return &conn{}, nil }
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			c, err := m.Acquire("k", open)
			if err == nil {
				m.Release("k", c)
			}
		})
	}
	wg.Wait()
	if m.Len() != 0 {
		t.Fatalf("%d values held after every holder released", m.Len())
	}
}
