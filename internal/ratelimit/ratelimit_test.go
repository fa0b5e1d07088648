package ratelimit_test

import (
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/messina-oms/messina/internal/ratelimit"
)

func TestTakeWaitAndTheBoundOnKeys(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := ratelimit.New(rate.Every(time.Second), 2, 2)
	for i := range 2 {
		if _, ok := b.Take("a", now); !ok {
			t.Fatalf("take %d of a burst of 2 refused", i+1)
		}
	}
	wait, ok := b.Take("a", now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third take: %v %v, want a refusal with a wait of at most 1s", wait, ok)
	}
	if w := b.Wait("a", now); w <= 0 {
		t.Fatalf("Wait on an empty bucket = %v", w)
	}
	if w := b.Wait("a", now); w <= 0 {
		t.Fatal("Wait spent a token it did not have")
	}
	if w := b.Wait("a", now.Add(time.Second)); w != 0 {
		t.Fatalf("Wait after the refill = %v", w)
	}
	if w := b.Wait("b", now); w != 0 {
		t.Fatalf("a new key waits %v", w)
	}
	// A third key is past the bound of 2: every bucket starts afresh, so
	// a is full again.
	b.Take("c", now)
	if _, ok := b.Take("a", now); !ok {
		t.Fatal("a was not reset when the keys passed the bound")
	}
}
