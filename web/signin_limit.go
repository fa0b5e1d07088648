package web

import (
	"net"
	"net/http"
	"time"

	"golang.org/x/time/rate"

	"github.com/messina-oms/messina/internal/ratelimit"
)

// Failed sign-ins are limited per client address: tokens made by Messina
// are 256 random bits, but the bootstrap token is the operator's choice
// and may be guessable. Only failures spend the allowance, so that many
// people signing in through one proxy are not held up.
const (
	signInFailureBurst = 10
	signInFailureEvery = 6 * time.Second // 10 a minute once the burst is spent
	// maxSignInClients bounds the limiter's memory.
	maxSignInClients = 10000
)

func newSignInLimiter() *ratelimit.Buckets {
	return ratelimit.New(rate.Every(signInFailureEvery), signInFailureBurst, maxSignInClients)
}

// clientAddress is the address the sign-in throttle counts failures of.
func clientAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
