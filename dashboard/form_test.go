package dashboard

import (
	"testing"

	"github.com/urltracker/urltracker"
)

// An error on a key the form has no field for is still listed, under a
// label, never dropped: the form would re-render with no message.
func TestEveryFieldErrorIsShown(t *testing.T) {
	fe := urltracker.FieldErrors{"name": "required", "policy.something_new": "must be positive", "mystery": "is wrong"}
	p := newOfferFormPage(nil, map[string]string{}, fe)
	got := map[string]string{}
	for _, f := range p.Errors {
		got[f.Label] = f.Error
	}
	want := map[string]string{"Name": "required", "Health policy": "must be positive", "Offer": "is wrong"}
	for label, msg := range want {
		if got[label] != msg {
			t.Errorf("summary %v lacks %s: %s", got, label, msg)
		}
	}
}
