package urltracker

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestShownCutsEveryValueOnARuneBoundary(t *testing.T) {
	long := strings.Repeat("é", ShownValueLen) // two bytes each
	payload := map[string]string{"click_id": long}
	for i := range 3 * MaxMacros {
		payload[strings.Repeat("k", i%7)+string(rune('a'+i%26))+strings.Repeat("x", i)] = "v"
	}
	e := Event{ClickID: long, CampaignID: "short", Payload: payload}.Shown()
	if len(e.ClickID) > ShownValueLen || !utf8.ValidString(e.ClickID) || !strings.HasSuffix(e.ClickID, "…") {
		t.Errorf("click id cut to %d bytes (valid UTF-8 %t): %q", len(e.ClickID), utf8.ValidString(e.ClickID), e.ClickID)
	}
	if e.CampaignID != "short" {
		t.Errorf("a short value changed: %q", e.CampaignID)
	}
	if len(e.Payload) > MaxMacros {
		t.Errorf("shows %d macros, want at most %d", len(e.Payload), MaxMacros)
	}
	for k, v := range e.Payload {
		if len(k) > ShownValueLen || len(v) > ShownValueLen {
			t.Errorf("macro %q=%q not cut", k, v)
		}
	}
}
