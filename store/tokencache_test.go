package store

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestTokenLookupsShareOneQuery expires a busy token while fifty webhooks
// wait for it: one lookup runs and all fifty get its offer.
func TestTokenLookupsShareOneQuery(t *testing.T) {
	var c tokenCache
	var fetches atomic.Int32
	release := make(chan struct{})
	fetch := func() (OfferRecord, error) {
		fetches.Add(1)
		<-release
		var r OfferRecord
		r.ID = 7
		return r, nil
	}
	var wg sync.WaitGroup
	got := make([]int64, 50)
	for i := range got {
		wg.Go(func() {
			r, err := c.load(context.Background(), "busy", time.Now(), fetch)
			if err != nil {
				t.Error(err)
			}
			got[i] = r.ID
		})
	}
	for fetches.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others queue behind it
	close(release)
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d lookups for one token, want 1", n)
	}
	for i, id := range got {
		if id != 7 {
			t.Fatalf("webhook %d got offer %d, want 7", i, id)
		}
	}
	if r, ok := c.get("busy", time.Now()); !ok || r.ID != 7 {
		t.Errorf("after the lookup the token is not cached: %v %v", r.ID, ok)
	}
}

// TestTokenLookupDuringAnEditIsNotCached forgets the cache (a local edit)
// while a lookup is in flight: what the lookup read before the edit is
// answered, but not kept.
func TestTokenLookupDuringAnEditIsNotCached(t *testing.T) {
	var c tokenCache
	_, err := c.load(context.Background(), "tok", time.Now(), func() (OfferRecord, error) {
		c.forget()
		return OfferRecord{}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.get("tok", time.Now()); ok {
		t.Error("a lookup that started before an edit was cached")
	}
}

// TestTokenLookupOfAGoneRequest: when the request that looked up gives up,
// a waiting request that has not looks up for itself.
func TestTokenLookupOfAGoneRequest(t *testing.T) {
	var c tokenCache
	started := make(chan struct{})
	leader, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.load(leader, "tok", time.Now(), func() (OfferRecord, error) {
			close(started)
			<-leader.Done()
			return OfferRecord{}, leader.Err()
		})
	}()
	<-started
	res := make(chan error, 1)
	go func() {
		r, err := c.load(context.Background(), "tok", time.Now(), func() (OfferRecord, error) {
			var r OfferRecord
			r.ID = 9
			return r, nil
		})
		if err == nil && r.ID != 9 {
			t.Errorf("follower got offer %d, want 9", r.ID)
		}
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	if err := <-res; err != nil {
		t.Errorf("a waiting webhook failed with its leader's cancellation: %v", err)
	}
}

// TestTokenLookupAfterAnEditDoesNotShareOneBefore: a webhook arriving once
// an edit (disabling the offer, say) has returned must read the offer as
// edited, not join a lookup that read it before the edit.
func TestTokenLookupAfterAnEditDoesNotShareOneBefore(t *testing.T) {
	var c tokenCache
	started, release := make(chan struct{}), make(chan struct{})
	before := make(chan OfferRecord, 1)
	go func() {
		r, _ := c.load(context.Background(), "tok", time.Now(), func() (OfferRecord, error) {
			close(started)
			<-release
			var r OfferRecord
			r.Enabled = true // as read before the edit
			return r, nil
		})
		before <- r
	}()
	<-started
	c.forget() // the edit disabling the offer has committed
	// Bounded: joined to the lookup from before the edit, it would wait
	// for that one, which waits for this test.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	r, err := c.load(ctx, "tok", time.Now(), func() (OfferRecord, error) {
		return OfferRecord{}, nil // as read after the edit: disabled
	})
	if err != nil {
		close(release)
		t.Fatalf("a lookup started after the edit waited for one from before it: %v", err)
	}
	if r.Enabled {
		t.Error("a lookup started after the edit answered the offer as it was before the edit")
	}
	close(release)
	<-before
	if r, ok := c.get("tok", time.Now()); ok && r.Enabled {
		t.Error("the lookup from before the edit was cached over it")
	}
}
