package store

import (
	"sync"
	"time"
)

const (
	// tokenCacheTTL bounds how long an offer edit takes to reach the
	// webhook path; it matches the kill switch's one second.
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

func (c *tokenCache) put(token string, offer OfferRecord, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= tokenCacheMax {
		c.entries = make(map[string]tokenEntry)
	}
	c.entries[token] = tokenEntry{offer: offer, expiry: now.Add(tokenCacheTTL)}
}

// forget drops every cached token, after a local edit, so that this
// instance sees its own changes at once.
func (c *tokenCache) forget() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
