package gate

import (
	"fmt"
	"sync"
)

// flight shares one evaluation between concurrent callers asking for the
// same key, as golang.org/x/sync/singleflight does, with a comparable key
// of typed fields instead of a string.
type flight[K comparable, V any] struct {
	mu    sync.Mutex
	calls map[K]*flightCall[V]
}

type flightCall[V any] struct {
	done chan struct{}
	val  V
	err  error
}

// do runs fn once for all callers that ask for key while it runs, and
// gives each of them its result. A panic in fn is every caller's error.
func (f *flight[K, V]) do(key K, fn func() (V, error)) (V, error) {
	f.mu.Lock()
	if c, ok := f.calls[key]; ok {
		f.mu.Unlock()
		<-c.done
		return c.val, c.err
	}
	if f.calls == nil {
		f.calls = map[K]*flightCall[V]{}
	}
	c := &flightCall[V]{done: make(chan struct{})}
	f.calls[key] = c
	f.mu.Unlock()

	func() {
		defer func() {
			if p := recover(); p != nil {
				c.err = fmt.Errorf("internal error: panic: %v", p)
			}
		}()
		c.val, c.err = fn()
	}()
	f.mu.Lock()
	delete(f.calls, key)
	f.mu.Unlock()
	close(c.done)
	return c.val, c.err
}
