package urltracker

import (
	"sort"
	"unicode/utf8"
)

// Bounds of what one webhook may store. Trackier's pushes are a few hundred
// bytes (a click id is 24 hex characters), so anything larger is a mistake
// or an attack; the webhook refuses it with a 400 before storage.
const (
	// MaxWebhookRequest bounds a whole webhook request: query string and
	// body together.
	MaxWebhookRequest = 64 << 10
	// MaxTokenLen bounds a webhook token (generated ones are 43 characters).
	MaxTokenLen = 128
	// MaxIDLen bounds click_id and campaign_id, the indexed columns.
	MaxIDLen = 255
	// MaxMacroNameLen and MaxMacroValueLen bound every other macro.
	MaxMacroNameLen  = 64
	MaxMacroValueLen = 2048
	// MaxMacros bounds how many macros one event stores.
	MaxMacros = 100
)

// ShownValueLen is how much of each stored value a list of events shows:
// pages and JSON lists stay small however large the stored payloads are
// (events stored before the bounds above could hold a megabyte).
const ShownValueLen = 256

// Shown returns e cut for display: every value to ShownValueLen bytes (a
// cut value ends in "…") and the payload to its first MaxMacros macros by
// name.
func (e Event) Shown() Event {
	e.ClickID, e.CampaignID = ShortValue(e.ClickID), ShortValue(e.CampaignID)
	if len(e.Payload) == 0 {
		return e
	}
	names := make([]string, 0, len(e.Payload))
	for k := range e.Payload {
		names = append(names, k)
	}
	sort.Strings(names)
	if len(names) > MaxMacros {
		names = names[:MaxMacros]
	}
	shown := make(map[string]string, len(names))
	for _, k := range names {
		shown[ShortValue(k)] = ShortValue(e.Payload[k])
	}
	e.Payload = shown
	return e
}

// ShortValue cuts s for display to at most ShownValueLen bytes, on a rune
// boundary; a cut value ends in "…".
func ShortValue(s string) string {
	if len(s) <= ShownValueLen {
		return s
	}
	cut := ShownValueLen - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
