package gate

import "sync"

// maxCached bounds each of the engine's caches.
const maxCached = 10000

// bounded is a map used as a cache, safe for concurrent use: it is
// emptied when it holds maxCached entries, since a cache only saves work.
// A nil *bounded keeps nothing.
type bounded[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]V
}

func (b *bounded[K, V]) get(k K) (V, bool) {
	if b == nil {
		var zero V
		return zero, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

func (b *bounded[K, V]) put(k K, v V) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= maxCached {
		b.m = map[K]V{}
	}
	b.m[k] = v
}
