package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

const (
	// tokenCacheTTL bounds how long an offer edit takes to reach the
	// webhook path on another instance (this one forgets at once).
	tokenCacheTTL = time.Second
	// tokenCacheMax bounds the cache's memory: past it, the cache starts over.
	tokenCacheMax = 10_000
)

type tokenEntry struct {
	offer  OfferRecord
	expiry time.Time
}

// tokenCache maps webhook tokens to their offers for a short time.
type tokenCache struct {
	mu      sync.Mutex
	entries map[string]tokenEntry
	// loading holds the lookups in flight, one per token: when a busy
	// offer's entry expires, the webhooks waiting for it share one query
	// instead of each taking a database connection at the same moment.
	loading map[string]*tokenLoad
	// gen counts forget calls, so that a lookup that started before an
	// edit does not put back what the edit changed.
	gen uint64
}

type tokenLoad struct {
	done  chan struct{}
	offer OfferRecord
	err   error
}

func (c *tokenCache) get(token string, now time.Time) (OfferRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[token]
	if !ok || now.After(e.expiry) {
		return OfferRecord{}, false
	}
	return e.offer, true
}

// load runs fetch for token, or waits for the fetch already in flight for
// it, and caches what it finds.
func (c *tokenCache) load(ctx context.Context, token string, now time.Time, fetch func() (OfferRecord, error)) (OfferRecord, error) {
	c.mu.Lock()
	if l, ok := c.loading[token]; ok {
		c.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
			return OfferRecord{}, ctx.Err()
		}
		if l.err == nil || !isContextErr(l.err) || ctx.Err() != nil {
			return l.offer, l.err
		}
		// The request that looked up gave up; this one has not.
		return fetch()
	}
	l := &tokenLoad{done: make(chan struct{})}
	if c.loading == nil {
		c.loading = make(map[string]*tokenLoad)
	}
	c.loading[token] = l
	gen := c.gen
	c.mu.Unlock()

	l.offer, l.err = fetch()

	c.mu.Lock()
	if c.loading[token] == l { // else forgotten, and maybe loading again
		delete(c.loading, token)
	}
	if l.err == nil && gen == c.gen {
		if c.entries == nil || len(c.entries) >= tokenCacheMax {
			c.entries = make(map[string]tokenEntry)
		}
		c.entries[token] = tokenEntry{offer: l.offer, expiry: now.Add(tokenCacheTTL)}
	}
	c.mu.Unlock()
	close(l.done)
	return l.offer, l.err
}

// forget drops every cached token, after a local edit, so that this
// instance sees its own changes at once. Lookups in flight are forgotten
// too: a webhook arriving after the edit must not share one that read the
// offer before it.
func (c *tokenCache) forget() {
	c.mu.Lock()
	c.entries = nil
	c.loading = nil
	c.gen++
	c.mu.Unlock()
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
