package store_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/urltracker/urltracker/internal/testutil"
	"github.com/urltracker/urltracker/store"
)

// fakeClock is a clock that moves only when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestKillSwitch plays two instances on one database: a toggle on one is
// seen by the other within a second, is audited, and survives a restart.
func TestKillSwitch(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		ctx := context.Background()
		clock := &fakeClock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		url := testutil.DatabaseURL(t, backend)
		a := openURL(t, url, store.WithClock(clock.Now))
		b := openURL(t, url, store.WithClock(clock.Now))

		mustRead := func(db *store.DB) bool {
			t.Helper()
			on, err := db.KillSwitch(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return on
		}
		if !mustRead(a) || !mustRead(b) {
			t.Fatal("a new database starts with automation switched off")
		}

		prev, err := a.SetKillSwitch(ctx, false, store.Actor{Instance: "instance-a"}, "")
		if err != nil {
			t.Fatal(err)
		}
		if !prev {
			t.Error("previous state = false, want true")
		}
		if mustRead(a) {
			t.Error("the instance that switched automation off still reads it on")
		}
		clock.Advance(time.Second)
		if mustRead(b) {
			t.Error("another instance still reads automation on a second after it was switched off")
		}

		if prev, err := b.SetKillSwitch(ctx, false, store.Actor{Instance: "instance-b"}, ""); err != nil || prev {
			t.Errorf("switching off twice: previous %v, %v; want false", prev, err)
		}
		if _, err := b.SetKillSwitch(ctx, true, store.Actor{Instance: "instance-b"}, ""); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
		if !mustRead(a) {
			t.Error("instance a missed the switch back on")
		}

		audit, err := a.AuditLog(ctx, store.AuditFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		type detail struct{ Previous, Enabled bool }
		want := []struct {
			instance string
			detail   detail
		}{
			{"instance-b", detail{Previous: false, Enabled: true}},
			{"instance-b", detail{Previous: false, Enabled: false}},
			{"instance-a", detail{Previous: true, Enabled: false}},
		}
		if len(audit) != len(want) {
			t.Fatalf("audit log has %d entries, want %d: %+v", len(audit), len(want), audit)
		}
		for i, w := range want {
			var d detail
			if err := json.Unmarshal(audit[i].Detail, &d); err != nil {
				t.Fatal(err)
			}
			if audit[i].Action != "kill_switch" || audit[i].Instance != w.instance || d != w.detail {
				t.Errorf("audit entry %d = %s by %s %s, want kill_switch by %s %+v", i, audit[i].Action, audit[i].Instance, audit[i].Detail, w.instance, w.detail)
			}
		}

		if _, err := a.SetKillSwitch(ctx, false, store.Actor{Instance: "instance-a"}, ""); err != nil {
			t.Fatal(err)
		}
		restarted := openURL(t, url)
		if mustRead(restarted) {
			t.Error("the kill switch did not survive a restart")
		}
	})
}
