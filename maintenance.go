package urltracker

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// AlertSettings say when an offer's health is worth a notification.
type AlertSettings struct {
	// FailureThreshold is how many counted failing checks in a row open an
	// outage and its first notice.
	FailureThreshold int `json:"failure_threshold"`
	// SuccessThreshold is how many healthy checks in a row close it, with a
	// resolved notice.
	SuccessThreshold int `json:"success_threshold"`
	// RemindEverySeconds repeats the notice while the outage lasts; 0 never.
	RemindEverySeconds int `json:"remind_every_seconds"`
}

// Alert defaults for new offers, and for offers that existed before them.
const (
	DefaultFailureThreshold   = 2
	DefaultSuccessThreshold   = 1
	DefaultRemindEverySeconds = 4 * 3600
)

// DefaultAlertSettings are the alert settings of a new offer.
func DefaultAlertSettings() AlertSettings {
	return AlertSettings{FailureThreshold: DefaultFailureThreshold, SuccessThreshold: DefaultSuccessThreshold,
		RemindEverySeconds: DefaultRemindEverySeconds}
}

// Validate adds what is wrong with a to fe, under prefix "alert.".
func (a AlertSettings) validate(fe FieldErrors) {
	if a.FailureThreshold < 1 || a.FailureThreshold > 100 {
		fe["alert.failure_threshold"] = "must be 1 to 100 failed checks"
	}
	if a.SuccessThreshold < 1 || a.SuccessThreshold > 100 {
		fe["alert.success_threshold"] = "must be 1 to 100 healthy checks"
	}
	if r := a.RemindEverySeconds; r != 0 && (r < 60 || r > 30*24*3600) {
		fe["alert.remind_every_seconds"] = "must be 0 (never) or 60 to 2592000 (30 days)"
	}
}

// Snooze silences an offer's notifications and actions until a time.
type Snooze struct {
	Until  time.Time `json:"until"`
	Reason string    `json:"reason"`
}

// MaintenanceWindow silences notifications and actions of some offers (or
// all) during a one-off period or every week at the same local time. Checks
// still run and are recorded; what would have been sent is listed.
type MaintenanceWindow struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// TimeZone is an IANA zone ("Europe/Berlin") in which Weekly reads;
	// default UTC.
	TimeZone string `json:"time_zone"`
	// StartsAt and EndsAt bound a one-off window.
	StartsAt *time.Time `json:"starts_at,omitempty"`
	EndsAt   *time.Time `json:"ends_at,omitempty"`
	// Weekly repeats the window every week.
	Weekly *WeeklyWindow `json:"weekly,omitempty"`
	// Offers are the offers it covers; empty covers every offer.
	Offers    []int64   `json:"offers"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// WeeklyWindow starts at Start ("HH:MM", local time) on each of Days
// ("mon".."sun") and lasts DurationMinutes, possibly past midnight.
type WeeklyWindow struct {
	Days            []string `json:"days"`
	Start           string   `json:"start"`
	DurationMinutes int      `json:"duration_minutes"`
}

var weekdays = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// Normalize returns w with its zone defaulted, days in lower case and no
// surrounding spaces.
func (w MaintenanceWindow) Normalize() MaintenanceWindow {
	w.Name, w.TimeZone = strings.TrimSpace(w.Name), strings.TrimSpace(w.TimeZone)
	if w.TimeZone == "" {
		w.TimeZone = "UTC"
	}
	if w.Offers == nil {
		w.Offers = []int64{}
	}
	if w.Weekly != nil {
		weekly := *w.Weekly
		weekly.Days = nil
		for _, d := range w.Weekly.Days {
			weekly.Days = append(weekly.Days, strings.ToLower(strings.TrimSpace(d))[:min(3, len(strings.TrimSpace(d)))])
		}
		weekly.Start = strings.TrimSpace(weekly.Start)
		w.Weekly = &weekly
	}
	return w
}

// Validate says what is wrong with each field of w, or nil.
func (w MaintenanceWindow) Validate() FieldErrors {
	fe := FieldErrors{}
	if w.Name == "" {
		fe["name"] = "required"
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil {
		fe["time_zone"] = "not a known IANA time zone such as Europe/Berlin"
	}
	switch {
	case w.Weekly == nil && (w.StartsAt == nil || w.EndsAt == nil):
		fe["weekly"] = "give either weekly {days, start, duration_minutes} or starts_at and ends_at"
	case w.Weekly != nil && (w.StartsAt != nil || w.EndsAt != nil):
		fe["weekly"] = "give either weekly or starts_at and ends_at, not both"
	case w.Weekly == nil && !w.EndsAt.After(*w.StartsAt):
		fe["ends_at"] = "must be after starts_at"
	case w.Weekly != nil:
		if len(w.Weekly.Days) == 0 {
			fe["weekly.days"] = "at least one of mon, tue, wed, thu, fri, sat, sun"
		}
		for _, d := range w.Weekly.Days {
			if !slices.Contains(weekdays, d) {
				fe["weekly.days"] = fmt.Sprintf("%q is not one of mon, tue, wed, thu, fri, sat, sun", d)
			}
		}
		if _, _, ok := clock(w.Weekly.Start); !ok {
			fe["weekly.start"] = `a local time "HH:MM" such as "23:30"`
		}
		if m := w.Weekly.DurationMinutes; m < 1 || m > 7*24*60 {
			fe["weekly.duration_minutes"] = "must be 1 to 10080 (one week)"
		}
	}
	if len(fe) == 0 {
		return nil
	}
	return fe
}

// clock reads "HH:MM".
func clock(s string) (hour, minute int, ok bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, 0, false
	}
	return t.Hour(), t.Minute(), true
}

// Covers tells whether w applies to the offer.
func (w MaintenanceWindow) Covers(offerID int64) bool {
	return len(w.Offers) == 0 || slices.Contains(w.Offers, offerID)
}

// ActiveAt tells whether w is on at t, and until when. A weekly window is
// read in its time zone, so that "sat 23:00 for 3 hours" starts at 23:00
// local time whatever the season, and runs past midnight into sunday.
func (w MaintenanceWindow) ActiveAt(t time.Time) (until time.Time, ok bool) {
	if w.Weekly == nil {
		if w.StartsAt != nil && w.EndsAt != nil && !t.Before(*w.StartsAt) && t.Before(*w.EndsAt) {
			return *w.EndsAt, true
		}
		return time.Time{}, false
	}
	loc, err := time.LoadLocation(w.TimeZone)
	hour, minute, okClock := clock(w.Weekly.Start)
	if err != nil || !okClock {
		return time.Time{}, false
	}
	local := t.In(loc)
	// A window that started up to a week ago may still be on.
	for back := 0; back <= 7; back++ {
		day := time.Date(local.Year(), local.Month(), local.Day()-back, hour, minute, 0, 0, loc)
		if !slices.Contains(w.Weekly.Days, weekdays[day.Weekday()]) {
			continue
		}
		end := day.Add(time.Duration(w.Weekly.DurationMinutes) * time.Minute)
		if !t.Before(day) && t.Before(end) {
			return end, true
		}
	}
	return time.Time{}, false
}
