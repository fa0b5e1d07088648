// Package ratelimit keeps a token bucket (golang.org/x/time/rate) per key,
// as the API's per-token request limit and the web UI's sign-in throttle
// both need, in bounded memory.
package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Buckets holds one token bucket per key. It is safe for concurrent use.
type Buckets struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	// max bounds the number of keys: past it the buckets are dropped and
	// every key starts afresh, full. Keys are tokens or client addresses,
	// which an attacker could otherwise multiply without end.
	max     int
	buckets map[string]*rate.Limiter
}

// New returns buckets that refill at limit tokens a second up to burst,
// for at most max keys at once.
func New(limit rate.Limit, burst, max int) *Buckets {
	return &Buckets{every: limit, burst: burst, max: max, buckets: map[string]*rate.Limiter{}}
}

func (b *Buckets) bucket(key string) *rate.Limiter {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.buckets[key]
	if !ok {
		if len(b.buckets) >= b.max {
			clear(b.buckets)
		}
		l = rate.NewLimiter(b.every, b.burst)
		b.buckets[key] = l
	}
	return l
}

// Take spends a token of key's bucket at now; when the bucket is empty it
// spends nothing and says how long until one is there.
func (b *Buckets) Take(key string, now time.Time) (time.Duration, bool) {
	res := b.bucket(key).ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// Wait says how long until key's bucket holds a token at now (0 when it
// does), without spending one.
func (b *Buckets) Wait(key string, now time.Time) time.Duration {
	l := b.bucket(key)
	if l.TokensAt(now) >= 1 {
		return 0
	}
	res := l.ReserveN(now, 1)
	defer res.CancelAt(now)
	return res.DelayFrom(now)
}
