package web

import (
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Failed sign-ins are limited per client address: tokens made by Messina
// are 256 random bits, but the bootstrap token is the operator's choice
// and may be guessable. Only failures spend the allowance, so that many
// people signing in through one proxy are not held up.
const (
	signInFailureBurst = 10
	signInFailureEvery = 6 * time.Second // 10 a minute once the burst is spent
	// maxSignInClients bounds the limiter's memory: past it, the buckets
	// are dropped and every client starts afresh.
	maxSignInClients = 10000
)

// signInLimiter counts failed sign-ins per client address.
type signInLimiter struct {
	mu      sync.Mutex
	clients map[string]*rate.Limiter
}

func newSignInLimiter() *signInLimiter {
	return &signInLimiter{clients: map[string]*rate.Limiter{}}
}

func (l *signInLimiter) bucket(r *http.Request) *rate.Limiter {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.clients[host]
	if !ok {
		if len(l.clients) >= maxSignInClients {
			clear(l.clients)
		}
		b = rate.NewLimiter(rate.Every(signInFailureEvery), signInFailureBurst)
		l.clients[host] = b
	}
	return b
}

// blocked reports whether the client has spent its failures, and when it
// may try again.
func (l *signInLimiter) blocked(r *http.Request, now time.Time) (time.Duration, bool) {
	b := l.bucket(r)
	if b.TokensAt(now) >= 1 {
		return 0, false
	}
	res := b.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	return wait, true
}

// failed spends one of the client's allowed failures.
func (l *signInLimiter) failed(r *http.Request, now time.Time) {
	l.bucket(r).AllowN(now, 1)
}
