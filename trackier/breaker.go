package trackier

import (
	"sync"
	"time"
)

// breaker counts consecutive failures of one API. Once open it lets calls
// through again after the cooldown; one more failure reopens it at once.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
}

func (b *breaker) open(now time.Time) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.openUntil, now.Before(b.openUntil)
}

func (b *breaker) record(ok bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ok {
		b.failures, b.openUntil = 0, time.Time{}
		return
	}
	b.failures++
	if b.failures >= BreakerThreshold {
		b.openUntil = now.Add(BreakerCooldown)
	}
}
