package urltracker

import (
	"testing"
	"time"
)

func TestWeeklyWindowCrossesMidnightInItsTimeZone(t *testing.T) {
	// Saturday 23:00 in New York for 3 hours: into Sunday 02:00 local.
	w := MaintenanceWindow{Name: "db", TimeZone: "America/New_York",
		Weekly: &WeeklyWindow{Days: []string{"Sat"}, Start: "23:00", DurationMinutes: 180}}.Normalize()
	if fe := w.Validate(); fe != nil {
		t.Fatal(fe)
	}
	ny, _ := time.LoadLocation("America/New_York")
	for _, tt := range []struct {
		at     time.Time
		active bool
	}{
		{time.Date(2026, 12, 5, 22, 59, 0, 0, ny), false}, // Saturday, before
		{time.Date(2026, 12, 5, 23, 0, 0, 0, ny), true},   // starts
		{time.Date(2026, 12, 6, 1, 30, 0, 0, ny), true},   // past midnight, Sunday
		{time.Date(2026, 12, 6, 2, 0, 0, 0, ny), false},   // ends
		{time.Date(2026, 12, 6, 23, 30, 0, 0, ny), false}, // Sunday night is not Saturday
		{time.Date(2026, 12, 6, 4, 30, 0, 0, time.UTC), true},
		// Summer time: still 23:00 local, so 03:00 UTC, not 04:00.
		{time.Date(2026, 7, 5, 3, 30, 0, 0, time.UTC), true},
		{time.Date(2026, 7, 5, 2, 30, 0, 0, time.UTC), false},
	} {
		until, ok := w.ActiveAt(tt.at)
		if ok != tt.active {
			t.Errorf("at %s: active %v, want %v", tt.at, ok, tt.active)
		}
		if ok && until.In(ny).Hour() != 2 {
			t.Errorf("at %s: until %s, want 02:00 local", tt.at, until.In(ny))
		}
	}
}

func TestOneOffWindowAndValidation(t *testing.T) {
	start := time.Date(2026, 12, 2, 1, 0, 0, 0, time.UTC)
	end := start.Add(time.Hour)
	w := MaintenanceWindow{Name: "deploy", StartsAt: &start, EndsAt: &end, Offers: []int64{3}}.Normalize()
	if fe := w.Validate(); fe != nil || w.TimeZone != "UTC" {
		t.Fatal(fe, w.TimeZone)
	}
	if _, ok := w.ActiveAt(start.Add(-time.Second)); ok {
		t.Error("active before it starts")
	}
	if until, ok := w.ActiveAt(start); !ok || !until.Equal(end) {
		t.Error("not active when it starts")
	}
	if _, ok := w.ActiveAt(end); ok {
		t.Error("active when it ends")
	}
	if !w.Covers(3) || w.Covers(4) || !(MaintenanceWindow{}).Covers(4) {
		t.Error("Covers")
	}
	for name, bad := range map[string]MaintenanceWindow{
		"name":                    {TimeZone: "UTC", StartsAt: &start, EndsAt: &end},
		"time_zone":               {Name: "x", TimeZone: "Mars/Olympus", StartsAt: &start, EndsAt: &end},
		"ends_at":                 {Name: "x", TimeZone: "UTC", StartsAt: &end, EndsAt: &start},
		"weekly":                  {Name: "x", TimeZone: "UTC"},
		"weekly.days":             {Name: "x", TimeZone: "UTC", Weekly: &WeeklyWindow{Days: []string{"someday"}, Start: "01:00", DurationMinutes: 5}},
		"weekly.start":            {Name: "x", TimeZone: "UTC", Weekly: &WeeklyWindow{Days: []string{"mon"}, Start: "25:00", DurationMinutes: 5}},
		"weekly.duration_minutes": {Name: "x", TimeZone: "UTC", Weekly: &WeeklyWindow{Days: []string{"mon"}, Start: "01:00"}},
	} {
		if fe := bad.Normalize().Validate(); fe[name] == "" {
			t.Errorf("%s: Validate() = %v, want an error on it", name, fe)
		}
	}
}
