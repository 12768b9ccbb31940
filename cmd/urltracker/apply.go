package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// offersFile is the format of `urltracker apply` and `urltracker export`:
// the declared state of a fleet. Offers are matched by name.
type offersFile struct {
	Offers []offerSpec `yaml:"offers"`
}

// offerSpec is one declared offer: the writable fields of the admin API's
// offer body, with the Trackier API key as a ${ENV_VAR} reference.
type offerSpec struct {
	Name                  string             `yaml:"name"`
	URL                   string             `yaml:"url"`
	ExpectedHost          string             `yaml:"expected_host,omitempty"`
	UpdateIntervalSeconds int                `yaml:"update_interval_seconds,omitempty"`
	CheckEverySeconds     *int               `yaml:"check_every_seconds,omitempty"`
	Enabled               *bool              `yaml:"enabled,omitempty"`
	Trackier              *trackierSpec      `yaml:"trackier,omitempty"`
	Policy                *urltracker.Policy `yaml:"policy,omitempty"`
	Rules                 *urltracker.Rules  `yaml:"rules,omitempty"`
}

type trackierSpec struct {
	APIBaseURL string `yaml:"api_base_url,omitempty"`
	CampaignID string `yaml:"campaign_id"`
	APIKey     string `yaml:"api_key,omitempty"`
}

const applyUsage = `usage: urltracker apply -f FILE|DIR|- [flags]

Makes a running urltracker match the offers declared in YAML: creates
missing offers, updates those whose declared fields differ, and with --prune
deletes offers the files do not declare. Offers are matched by name. Prints
the plan first; a second apply changes nothing and says so.

flags:
  -f FILE|DIR|-      a YAML file, a directory of *.yaml/*.yml, or - for stdin (repeatable)
  --dry-run          print the plan only
  --prune            delete offers that no file declares
  --update-secrets   send Trackier API keys of existing offers too (they are
                     write-only, so apply cannot tell whether they changed)
  --url URL          the instance or load balancer (default $URLTRACKER_URL or http://127.0.0.1:3000)
  --token-file FILE  read the admin token from FILE (default $URLTRACKER_ADMIN_TOKEN)

API keys are written as ${ENV_VAR} references, never literally.
`

const exportUsage = `usage: urltracker export [flags] > offers.yaml

Writes every offer of a running urltracker in the format apply reads. API
keys are written as the reference ${TRACKIER_API_KEY}: set it (or edit the
names) before applying the file elsewhere.

flags:
  --url URL          the instance or load balancer (default $URLTRACKER_URL or http://127.0.0.1:3000)
  --token-file FILE  read the admin token from FILE (default $URLTRACKER_ADMIN_TOKEN)
`

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// adminFlags adds the flags every admin-API command shares and answers a
// function that builds the client once the flags are parsed.
func adminFlags(fs *flag.FlagSet, getenv func(string) string, stdout, stderr io.Writer) func() (*ctl, error) {
	defaultURL := getenv("URLTRACKER_URL")
	if defaultURL == "" {
		defaultURL = "http://127.0.0.1:3000"
	}
	base := fs.String("url", defaultURL, "")
	tokenFile := fs.String("token-file", "", "")
	asJSON := fs.Bool("json", false, "")
	timeout := fs.Duration("timeout", defaultCtlTimeout, "")
	return func() (*ctl, error) {
		return newCtl(*base, *tokenFile, *asJSON, *timeout, getenv, stdout, stderr)
	}
}

func applyCmd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apply", flag.ContinueOnError)
	var files stringList
	fs.Var(&files, "f", "")
	dryRun := fs.Bool("dry-run", false, "")
	prune := fs.Bool("prune", false, "")
	updateSecrets := fs.Bool("update-secrets", false, "")
	client := adminFlags(fs, getenv, stdout, stderr)
	if err := parseFlags(fs, args, applyUsage, stdout, stderr); err != nil {
		return err
	}
	if len(files) == 0 || fs.NArg() > 0 {
		fmt.Fprint(stderr, applyUsage)
		return exitWith(ctlExitUsage, errors.New("apply: want -f FILE|DIR|- and no other arguments"))
	}
	declared, err := readOfferFiles(files, stdin, getenv)
	if err != nil {
		return exitWith(ctlExitUsage, err)
	}
	c, err := client()
	if err != nil {
		return exitWith(ctlExitUsage, err)
	}
	existing, err := c.listOffers(ctx)
	if err != nil {
		return ctlExit(err)
	}
	plan := planApply(declared, existing, *prune, *updateSecrets)
	printPlan(stdout, plan)
	if *dryRun || !plan.changes() {
		return nil
	}
	return ctlExit(c.execute(ctx, plan))
}

func exportCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	client := adminFlags(fs, getenv, stdout, stderr)
	if err := parseFlags(fs, args, exportUsage, stdout, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprint(stderr, exportUsage)
		return exitWith(ctlExitUsage, errors.New("export takes no arguments"))
	}
	c, err := client()
	if err != nil {
		return exitWith(ctlExitUsage, err)
	}
	existing, err := c.listOffers(ctx)
	if err != nil {
		return ctlExit(err)
	}
	out := offersFile{Offers: make([]offerSpec, 0, len(existing))}
	for _, o := range existing {
		out.Offers = append(out.Offers, specOf(o))
	}
	body, err := yaml.MarshalWithOptions(out, yaml.IndentSequence(true))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "# urltracker offers, exported from %s. Apply with: urltracker apply -f FILE\n", c.base)
	_, err = stdout.Write(body)
	return err
}

// envRef is the only form an API key may take in a file.
var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// declaredOffer is one offer of the files: its typed spec, the JSON body of
// the fields the file sets (and only those), and where it was declared.
type declaredOffer struct {
	Spec   offerSpec
	Body   map[string]any
	Source string
}

// readOfferFiles reads and checks every file: unknown keys, literal API
// keys, unset variables and duplicate names are errors with file and line.
func readOfferFiles(paths []string, stdin io.Reader, getenv func(string) string) ([]declaredOffer, error) {
	var sources []string
	for _, p := range paths {
		if p == "-" {
			sources = append(sources, "-")
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("apply -f %s: %w", p, err)
		}
		if !info.IsDir() {
			sources = append(sources, p)
			continue
		}
		var inDir []string
		for _, pattern := range []string{"*.yaml", "*.yml"} {
			m, _ := filepath.Glob(filepath.Join(p, pattern))
			inDir = append(inDir, m...)
		}
		if len(inDir) == 0 {
			return nil, fmt.Errorf("apply -f %s: no *.yaml or *.yml files in the directory", p)
		}
		sort.Strings(inDir)
		sources = append(sources, inDir...)
	}
	var all []declaredOffer
	seen := map[string]string{}
	for _, src := range sources {
		var data []byte
		var err error
		if src == "-" {
			data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
			src = "<stdin>"
		} else {
			data, err = os.ReadFile(src)
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", src, err)
		}
		offers, err := parseOffersFile(src, data, getenv)
		if err != nil {
			return nil, err
		}
		for _, o := range offers {
			if prev, dup := seen[o.Spec.Name]; dup {
				return nil, fmt.Errorf("%s: offer %q is declared twice (also in %s)", o.Source, o.Spec.Name, prev)
			}
			seen[o.Spec.Name] = o.Source
			all = append(all, o)
		}
	}
	return all, nil
}

func parseOffersFile(src string, data []byte, getenv func(string) string) ([]declaredOffer, error) {
	var typed offersFile
	if err := yaml.UnmarshalWithOptions(data, &typed, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("%s: %s", src, yaml.FormatError(err, false, true))
	}
	var generic struct {
		Offers []map[string]any `yaml:"offers"`
	}
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	out := make([]declaredOffer, 0, len(typed.Offers))
	for i, spec := range typed.Offers {
		where := fmt.Sprintf("%s:%d", src, lineOf(data, fmt.Sprintf("$.offers[%d]", i)))
		if strings.TrimSpace(spec.Name) == "" {
			return nil, fmt.Errorf("%s: offer without a name (offers are matched by name)", where)
		}
		body, err := jsonMap(generic.Offers[i])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if spec.Trackier != nil && spec.Trackier.APIKey != "" {
			at := fmt.Sprintf("%s:%d", src, lineOf(data, fmt.Sprintf("$.offers[%d].trackier.api_key", i)))
			m := envRef.FindStringSubmatch(spec.Trackier.APIKey)
			if m == nil {
				return nil, fmt.Errorf("%s: trackier.api_key must be a ${ENV_VAR} reference, never the key itself", at)
			}
			key := getenv(m[1])
			if key == "" {
				return nil, fmt.Errorf("%s: trackier.api_key refers to ${%s}, which is not set", at, m[1])
			}
			body["trackier"].(map[string]any)["api_key"] = key
		}
		out = append(out, declaredOffer{Spec: spec, Body: body, Source: where})
	}
	return out, nil
}

// lineOf answers the line of a YAML path in data, or 0.
func lineOf(data []byte, path string) int {
	p, err := yaml.PathString(path)
	if err != nil {
		return 0
	}
	node, err := p.ReadNode(bytes.NewReader(data))
	if err != nil || node == nil || node.GetToken() == nil {
		return 0
	}
	return node.GetToken().Position.Line
}

// jsonMap turns a decoded YAML value into what the same JSON decodes to, so
// that it compares with API answers (numbers as float64).
func jsonMap(v map[string]any) (map[string]any, error) {
	b, err := jsonenc.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

// existingOffer is an offer as GET /api/offers answers it.
type existingOffer struct {
	ID   int64
	Name string
	JSON map[string]any
}

func (c *ctl) listOffers(ctx context.Context) ([]existingOffer, error) {
	var ans struct {
		Offers []map[string]any `json:"offers"`
	}
	const max = 1000 // the API's largest page
	if _, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers?limit=%d", max), &ans); err != nil {
		return nil, err
	}
	if len(ans.Offers) >= max {
		return nil, fmt.Errorf("the instance has %d or more offers; apply and export read at most %d", max, max-1)
	}
	out := make([]existingOffer, 0, len(ans.Offers))
	for _, o := range ans.Offers {
		id, _ := o["id"].(float64)
		name, _ := o["name"].(string)
		out = append(out, existingOffer{ID: int64(id), Name: name, JSON: o})
	}
	return out, nil
}

// specOf answers an existing offer in the file format.
func specOf(o existingOffer) offerSpec {
	var full struct {
		urltracker.Offer
	}
	b, _ := jsonenc.Marshal(o.JSON)
	_ = json.Unmarshal(b, &full)
	enabled, checkEvery := full.Enabled, full.CheckEverySeconds
	spec := offerSpec{
		Name: full.Name, URL: full.URL, ExpectedHost: full.ExpectedHost,
		UpdateIntervalSeconds: full.UpdateIntervalSeconds, CheckEverySeconds: &checkEvery, Enabled: &enabled,
	}
	if t := full.Trackier; t.CampaignID != "" || t.APIKeySet {
		spec.Trackier = &trackierSpec{APIBaseURL: t.APIBaseURL, CampaignID: t.CampaignID}
		if t.APIKeySet {
			spec.Trackier.APIKey = "${TRACKIER_API_KEY}"
		}
	}
	if p := full.Policy; !reflect.ValueOf(p).IsZero() {
		spec.Policy = &p
	}
	if r := full.Rules; len(r.MustContain)+len(r.MustNotContain) > 0 || r.MaxTotalMS != 0 || r.MaxHops != 0 || r.RefusedIsBroken {
		spec.Rules = &r
	}
	return spec
}

// applyPlan is what apply will do.
type applyPlan struct {
	Create    []declaredOffer
	Update    []offerUpdate
	Delete    []existingOffer
	Unchanged int
}

type offerUpdate struct {
	ID      int64
	Name    string
	Changed []string // field paths, e.g. policy.mode
	Body    map[string]any
}

func (p applyPlan) changes() bool { return len(p.Create)+len(p.Update)+len(p.Delete) > 0 }

// planApply compares the declared offers with the existing ones. A declared
// field that equals the existing value is no change; fields the file leaves
// out are left as they are. Write-only API keys are sent on create, to
// offers that have none, and with updateSecrets.
func planApply(declared []declaredOffer, existing []existingOffer, prune, updateSecrets bool) applyPlan {
	var plan applyPlan
	byName := map[string]existingOffer{}
	for _, e := range existing {
		byName[e.Name] = e
	}
	wanted := map[string]bool{}
	for _, d := range declared {
		wanted[d.Spec.Name] = true
		e, ok := byName[d.Spec.Name]
		if !ok {
			plan.Create = append(plan.Create, d)
			continue
		}
		body := map[string]any{}
		var changed []string
		for key, want := range d.Body {
			have := e.JSON[key]
			if key == "trackier" {
				want, have = trackierForCompare(want, have, updateSecrets)
			}
			if diffs := differences(key, want, have); len(diffs) > 0 {
				changed = append(changed, diffs...)
				body[key] = overlay(e.JSON[key], d.Body[key])
			}
		}
		if len(changed) == 0 {
			plan.Unchanged++
			continue
		}
		sort.Strings(changed)
		plan.Update = append(plan.Update, offerUpdate{ID: e.ID, Name: e.Name, Changed: changed, Body: body})
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

// trackierForCompare drops the write-only key from the comparison unless it
// must be sent: the offer has none yet, or updateSecrets asks for it.
func trackierForCompare(want, have any, updateSecrets bool) (any, any) {
	w, _ := want.(map[string]any)
	h, _ := have.(map[string]any)
	if w == nil {
		return want, have
	}
	cw := map[string]any{}
	for k, v := range w {
		cw[k] = v
	}
	if _, hasKey := cw["api_key"]; hasKey {
		keySet, _ := h["api_key_set"].(bool)
		if keySet && !updateSecrets {
			delete(cw, "api_key")
		} else {
			// Force a difference: the key must be sent.
			h = overlayMap(h, map[string]any{"api_key": nil})
		}
	}
	return cw, h
}

// differences lists the paths where want (declared) differs from have;
// keys have lacks count as different, keys only have holds do not.
func differences(path string, want, have any) []string {
	wm, wok := want.(map[string]any)
	hm, hok := have.(map[string]any)
	if wok && hok {
		var out []string
		for k, v := range wm {
			out = append(out, differences(path+"."+k, v, hm[k])...)
		}
		return out
	}
	if reflect.DeepEqual(want, have) || isEmpty(want) && isEmpty(have) {
		return nil
	}
	return []string{path}
}

// isEmpty tells null, {} and [] apart from values: the API answers an unset
// map as either.
func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case map[string]any:
		return len(x) == 0
	case []any:
		return len(x) == 0
	}
	return false
}

// overlay answers the declared value laid over the existing one, so that a
// PATCH of a nested object (policy, trackier) keeps the fields the file
// leaves out.
func overlay(have, want any) any {
	wm, wok := want.(map[string]any)
	hm, hok := have.(map[string]any)
	if !wok || !hok {
		return want
	}
	return overlayMap(hm, wm)
}

func overlayMap(have, want map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range have {
		out[k] = v
	}
	for k, v := range want {
		out[k] = overlay(out[k], v)
	}
	return out
}

func printPlan(w io.Writer, p applyPlan) {
	for _, d := range p.Create {
		fmt.Fprintf(w, "+ create offer %q (%s)\n", d.Spec.Name, d.Source)
	}
	for _, u := range p.Update {
		fmt.Fprintf(w, "~ update offer %q: %s\n", u.Name, strings.Join(u.Changed, ", "))
	}
	for _, e := range p.Delete {
		fmt.Fprintf(w, "- delete offer %q (id %d)\n", e.Name, e.ID)
	}
	if !p.changes() {
		if p.Unchanged == 1 {
			fmt.Fprintln(w, "no changes: the 1 offer already matches")
		} else {
			fmt.Fprintf(w, "no changes: %d offers already match\n", p.Unchanged)
		}
		return
	}
	fmt.Fprintf(w, "plan: %d to create, %d to update, %d to delete, %d unchanged\n", len(p.Create), len(p.Update), len(p.Delete), p.Unchanged)
}

// execute carries out a plan, one request per offer, and stops at the first
// failure (the next apply carries on from there).
func (c *ctl) execute(ctx context.Context, p applyPlan) error {
	for _, d := range p.Create {
		var created struct {
			ID         int64  `json:"id"`
			WebhookURL string `json:"webhook_url"`
		}
		if _, err := c.send(ctx, http.MethodPost, "/api/offers", stripReadOnly(d.Body), &created); err != nil {
			return fmt.Errorf("create offer %q (%s): %w", d.Spec.Name, d.Source, err)
		}
		fmt.Fprintf(c.stdout, "created offer %q (id %d); push URL: %s\n", d.Spec.Name, created.ID, created.WebhookURL)
	}
	for _, u := range p.Update {
		if _, err := c.send(ctx, http.MethodPatch, fmt.Sprintf("/api/offers/%d", u.ID), stripReadOnly(u.Body), nil); err != nil {
			return fmt.Errorf("update offer %q: %w", u.Name, err)
		}
		fmt.Fprintf(c.stdout, "updated offer %q\n", u.Name)
	}
	for _, e := range p.Delete {
		if _, err := c.send(ctx, http.MethodDelete, fmt.Sprintf("/api/offers/%d", e.ID), nil, nil); err != nil {
			return fmt.Errorf("delete offer %q: %w", e.Name, err)
		}
		fmt.Fprintf(c.stdout, "deleted offer %q\n", e.Name)
	}
	return nil
}

// stripReadOnly drops what the API answers but does not take (api_key_set).
func stripReadOnly(body map[string]any) map[string]any {
	if t, ok := body["trackier"].(map[string]any); ok {
		t = overlayMap(t, nil)
		delete(t, "api_key_set")
		body = overlayMap(body, nil)
		body["trackier"] = t
	}
	return body
}
