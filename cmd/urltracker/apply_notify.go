package main

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/urltracker/urltracker"
)

// channelSpec is one declared notification channel, matched by name. Its
// secrets (url, bot_token, password, secret) are ${ENV_VAR} references.
type channelSpec struct {
	Name            string   `yaml:"name"`
	Kind            string   `yaml:"kind"`
	Default         *bool    `yaml:"default,omitempty"`
	URL             string   `yaml:"url,omitempty"`
	BotToken        string   `yaml:"bot_token,omitempty"`
	Password        string   `yaml:"password,omitempty"`
	Secret          string   `yaml:"secret,omitempty"`
	Template        string   `yaml:"template,omitempty"`
	SignatureHeader string   `yaml:"signature_header,omitempty"`
	ChatID          string   `yaml:"chat_id,omitempty"`
	APIBaseURL      string   `yaml:"api_base_url,omitempty"`
	SMTPHost        string   `yaml:"smtp_host,omitempty"`
	SMTPPort        int      `yaml:"smtp_port,omitempty"`
	SMTPSecurity    string   `yaml:"smtp_security,omitempty"`
	Username        string   `yaml:"username,omitempty"`
	From            string   `yaml:"from,omitempty"`
	To              []string `yaml:"to,omitempty"`
}

// channelSecrets are the write-only fields of a channel spec.
var channelSecrets = []string{"url", "bot_token", "password", "secret"}

// windowSpec is one declared maintenance window, matched by name; its
// offers are offer names.
type windowSpec struct {
	Name     string                   `yaml:"name"`
	TimeZone string                   `yaml:"time_zone,omitempty"`
	StartsAt string                   `yaml:"starts_at,omitempty"`
	EndsAt   string                   `yaml:"ends_at,omitempty"`
	Weekly   *urltracker.WeeklyWindow `yaml:"weekly,omitempty"`
	Offers   []string                 `yaml:"offers,omitempty"`
}

// declaredItem is a declared channel or window: its name, the JSON body of
// the fields the file sets, and where it was declared.
type declaredItem struct {
	Name   string
	Body   map[string]any
	Source string
}

// existingItem is a channel or window as the API answers it.
type existingItem struct {
	ID   int64
	Name string
	JSON map[string]any
}

// itemPlan is what apply does to channels or maintenance windows.
type itemPlan struct {
	Create []declaredItem
	Update []itemUpdate
	Delete []existingItem
	Same   int
}

type itemUpdate struct {
	ID      int64
	Name    string
	Changed []string
	Body    map[string]any
}

func (p itemPlan) changes() bool { return len(p.Create)+len(p.Update)+len(p.Delete) > 0 }

// listItems reads GET path's list under key; channels that carry an
// offer's alert_url follow their offer and are left out.
func (c *ctl) listItems(ctx context.Context, path, key string) ([]existingItem, error) {
	var ans map[string][]map[string]any
	if _, err := c.call(ctx, http.MethodGet, path, &ans); err != nil {
		return nil, err
	}
	var out []existingItem
	for _, m := range ans[key] {
		if _, implicit := m["offer_id"]; implicit && key == "channels" {
			continue
		}
		id, _ := m["id"].(float64)
		name, _ := m["name"].(string)
		out = append(out, existingItem{ID: int64(id), Name: name, JSON: m})
	}
	return out, nil
}

// planItems compares declared channels or windows with the existing ones,
// like planApply does offers. secrets are write-only fields: sent on
// create, when the existing item has none stored, or with updateSecrets.
func planItems(declared []declaredItem, existing []existingItem, prune, updateSecrets bool, secrets []string) itemPlan {
	var plan itemPlan
	byName := map[string]existingItem{}
	for _, e := range existing {
		byName[e.Name] = e
	}
	wanted := map[string]bool{}
	for _, d := range declared {
		wanted[d.Name] = true
		e, ok := byName[d.Name]
		if !ok {
			plan.Create = append(plan.Create, d)
			continue
		}
		stored := map[string]bool{}
		if set, ok := e.JSON["secrets_set"].([]any); ok {
			for _, s := range set {
				stored[fmt.Sprint(s)] = true
			}
		}
		body := map[string]any{}
		var changed []string
		for key, want := range d.Body {
			if contains(secrets, key) {
				if !stored[key] || updateSecrets {
					changed, body[key] = append(changed, key), want
				}
				continue
			}
			if diffs := differences(key, want, e.JSON[key]); len(diffs) > 0 {
				changed, body[key] = append(changed, diffs...), want
			}
		}
		if len(changed) == 0 {
			plan.Same++
			continue
		}
		sort.Strings(changed)
		plan.Update = append(plan.Update, itemUpdate{ID: e.ID, Name: e.Name, Changed: changed, Body: body})
	}
	if prune {
		for _, e := range existing {
			if !wanted[e.Name] {
				plan.Delete = append(plan.Delete, e)
			}
		}
	}
	return plan
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func printItemPlan(w interface{ Write([]byte) (int, error) }, what string, p itemPlan) {
	for _, d := range p.Create {
		fmt.Fprintf(w, "+ create %s %q (%s)\n", what, d.Name, d.Source)
	}
	for _, u := range p.Update {
		fmt.Fprintf(w, "~ update %s %q: %s\n", what, u.Name, strings.Join(u.Changed, ", "))
	}
	for _, e := range p.Delete {
		fmt.Fprintf(w, "- delete %s %q (id %d)\n", what, e.Name, e.ID)
	}
}

// executeItems carries out a plan on the API's collection at path; fix
// turns names in a body into ids just before it is sent.
func (c *ctl) executeItems(ctx context.Context, what, path string, p itemPlan, fix func(map[string]any) (map[string]any, error)) error {
	for _, d := range p.Create {
		body, err := fix(d.Body)
		if err != nil {
			return fmt.Errorf("create %s %q (%s): %w", what, d.Name, d.Source, err)
		}
		if _, err := c.send(ctx, http.MethodPost, path, body, nil); err != nil {
			return fmt.Errorf("create %s %q (%s): %w", what, d.Name, d.Source, err)
		}
		fmt.Fprintf(c.stdout, "created %s %q\n", what, d.Name)
	}
	for _, u := range p.Update {
		body, err := fix(u.Body)
		if err != nil {
			return fmt.Errorf("update %s %q: %w", what, u.Name, err)
		}
		if _, err := c.send(ctx, http.MethodPatch, path+"/"+strconv.FormatInt(u.ID, 10), body, nil); err != nil {
			return fmt.Errorf("update %s %q: %w", what, u.Name, err)
		}
		fmt.Fprintf(c.stdout, "updated %s %q\n", what, u.Name)
	}
	for _, e := range p.Delete {
		if _, err := c.send(ctx, http.MethodDelete, path+"/"+strconv.FormatInt(e.ID, 10), nil, nil); err != nil {
			return fmt.Errorf("delete %s %q: %w", what, e.Name, err)
		}
		fmt.Fprintf(c.stdout, "deleted %s %q\n", what, e.Name)
	}
	return nil
}

// namesToIDs replaces the names in body[key] with the ids of items.
func namesToIDs(body map[string]any, key, what string, items []existingItem) (map[string]any, error) {
	names, ok := body[key].([]any)
	if !ok {
		return body, nil
	}
	byName := map[string]int64{}
	for _, it := range items {
		byName[it.Name] = it.ID
	}
	ids := make([]int64, 0, len(names))
	for _, n := range names {
		id, ok := byName[fmt.Sprint(n)]
		if !ok {
			return nil, fmt.Errorf("%s names %s %q, which neither the files nor the instance declare", key, what, n)
		}
		ids = append(ids, id)
	}
	out := overlayMap(body, nil)
	out[key] = ids
	return out, nil
}

// idsToNames answers the JSON list of ids under key as names (ids that name
// nothing stay numbers), so that it compares with a file.
func idsToNames(list any, items []existingItem) []any {
	byID := map[int64]string{}
	for _, it := range items {
		byID[it.ID] = it.Name
	}
	ids, _ := list.([]any)
	out := make([]any, 0, len(ids))
	for _, v := range ids {
		f, _ := v.(float64)
		if name, ok := byID[int64(f)]; ok {
			out = append(out, name)
		} else {
			out = append(out, v)
		}
	}
	return out
}

// channelSpecOf answers an existing channel in the file format, its
// secrets as references to variables named after it.
func channelSpecOf(ch existingItem) channelSpec {
	j := ch.JSON
	str := func(k string) string { s, _ := j[k].(string); return s }
	def, _ := j["default"].(bool)
	spec := channelSpec{Name: ch.Name, Kind: str("kind"), Default: &def, Template: str("template"), ChatID: str("chat_id"),
		SMTPHost: str("smtp_host"), SMTPSecurity: str("smtp_security"), Username: str("username"), From: str("from")}
	if str("kind") == string(urltracker.ChannelWebhook) && str("signature_header") != urltracker.DefaultSignatureHeader {
		spec.SignatureHeader = str("signature_header")
	}
	if base := str("api_base_url"); base != urltracker.DefaultTelegramAPIBaseURL {
		spec.APIBaseURL = base
	}
	if port, ok := j["smtp_port"].(float64); ok {
		spec.SMTPPort = int(port)
	}
	if to, ok := j["to"].([]any); ok {
		for _, a := range to {
			spec.To = append(spec.To, fmt.Sprint(a))
		}
	}
	set, _ := j["secrets_set"].([]any)
	prefix := "URLTRACKER_CHANNEL_" + envName(ch.Name) + "_"
	for _, s := range set {
		ref := "${" + prefix + strings.ToUpper(fmt.Sprint(s)) + "}"
		switch s {
		case "url":
			spec.URL = ref
		case "bot_token":
			spec.BotToken = ref
		case "password":
			spec.Password = ref
		case "secret":
			spec.Secret = ref
		}
	}
	return spec
}

// windowSpecOf answers an existing window in the file format.
func windowSpecOf(w existingItem, offers []existingOffer) windowSpec {
	j := w.JSON
	str := func(k string) string { s, _ := j[k].(string); return s }
	spec := windowSpec{Name: w.Name, TimeZone: str("time_zone"), StartsAt: str("starts_at"), EndsAt: str("ends_at")}
	if wk, ok := j["weekly"].(map[string]any); ok {
		spec.Weekly = &urltracker.WeeklyWindow{Start: fmt.Sprint(wk["start"])}
		if m, ok := wk["duration_minutes"].(float64); ok {
			spec.Weekly.DurationMinutes = int(m)
		}
		days, _ := wk["days"].([]any)
		for _, d := range days {
			spec.Weekly.Days = append(spec.Weekly.Days, fmt.Sprint(d))
		}
	}
	for _, name := range idsToNames(j["offers"], offerItems(offers)) {
		spec.Offers = append(spec.Offers, fmt.Sprint(name))
	}
	return spec
}

func offerItems(offers []existingOffer) []existingItem {
	out := make([]existingItem, len(offers))
	for i, o := range offers {
		out[i] = existingItem{ID: o.ID, Name: o.Name}
	}
	return out
}

// envName is name as part of an environment variable name.
func envName(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}
