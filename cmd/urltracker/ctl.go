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
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urltracker/urltracker/internal/jsonenc"
)

// Exit codes of `urltracker ctl`, for scripts.
const (
	ctlExitFailureFound = 1 // the command worked and found something wrong
	ctlExitUsage        = 2
	ctlExitUnreachable  = 3 // the instance could not be reached or refused the token
)

const ctlUsage = `usage: urltracker ctl [flags] <command> [args]

Talks to a running urltracker over its admin API.

commands:
  status                          kill switch, offers and their last verdicts
  killswitch off|on --reason R    stop or restart all outbound automation, fleet-wide
  offers [list]                   every offer with its last verdict
  offers show ID                  one offer and its last checks
  offers check ID                 run a check now and print it
  actions ID                      the offer's actions log
  tail                            follow new checks and actions as they happen

flags:
  --url URL          the instance or load balancer (default $URLTRACKER_URL or http://127.0.0.1:3000)
  --token-file FILE  read the admin token from FILE (default $URLTRACKER_ADMIN_TOKEN)
  --json             print the API's JSON instead of tables
  --timeout D        deadline of each request (default 30s)

exit codes: 0 ok, 1 a failure was found (broken offer, automation off,
failed check), 2 usage, 3 the instance cannot be reached or refused the token.
`

// ctl is one invocation of `urltracker ctl`.
type ctl struct {
	base    string
	token   string
	asJSON  bool
	client  *http.Client
	stdout  io.Writer
	stderr  io.Writer
	now     func() time.Time
	pollGap time.Duration
}

// errFailureFound ends a ctl command that worked and found something wrong.
var errFailureFound = errors.New("failure found")

func ctlCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	client := adminFlags(fs, getenv, stdout, stderr)
	if err := parseFlags(fs, args, ctlUsage, stdout, stderr); err != nil {
		return err
	}
	usageErr := func(format string, a ...any) error {
		fmt.Fprint(stderr, ctlUsage)
		return exitWith(ctlExitUsage, fmt.Errorf(format, a...))
	}
	if fs.NArg() == 0 {
		return usageErr("ctl: missing command")
	}
	c, err := client()
	if err != nil {
		return exitWith(ctlExitUsage, err)
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "status":
		err = c.status(ctx)
	case "killswitch":
		sub := flag.NewFlagSet("killswitch", flag.ContinueOnError)
		sub.SetOutput(stderr)
		reason := sub.String("reason", "", "")
		if len(rest) == 0 || (rest[0] != "on" && rest[0] != "off") {
			return usageErr("ctl killswitch: want on or off")
		}
		if perr := sub.Parse(rest[1:]); perr != nil || sub.NArg() > 0 {
			return usageErr("ctl killswitch %s: only --reason is accepted", rest[0])
		}
		if strings.TrimSpace(*reason) == "" {
			return usageErr("ctl killswitch %s: --reason is required (it goes to the audit log)", rest[0])
		}
		err = c.killSwitch(ctx, rest[0] == "on", *reason)
	case "offers":
		switch {
		case len(rest) == 0 || (len(rest) == 1 && rest[0] == "list"):
			err = c.offers(ctx)
		case len(rest) == 2 && (rest[0] == "show" || rest[0] == "check"):
			id, perr := strconv.ParseInt(rest[1], 10, 64)
			if perr != nil || id < 1 {
				return usageErr("ctl offers %s: %q is not an offer id", rest[0], rest[1])
			}
			if rest[0] == "show" {
				err = c.offerShow(ctx, id)
			} else {
				err = c.offerCheck(ctx, id)
			}
		default:
			return usageErr("ctl offers: want list, show ID or check ID")
		}
	case "actions":
		if len(rest) != 1 {
			return usageErr("ctl actions: want an offer id")
		}
		id, perr := strconv.ParseInt(rest[0], 10, 64)
		if perr != nil || id < 1 {
			return usageErr("ctl actions: %q is not an offer id", rest[0])
		}
		err = c.actions(ctx, id)
	case "tail":
		if len(rest) != 0 {
			return usageErr("ctl tail takes no arguments")
		}
		err = c.tail(ctx)
	default:
		return usageErr("ctl: unknown command %q", cmd)
	}
	return ctlExit(err)
}

// defaultCtlTimeout is the deadline of each admin request of ctl, apply and
// export.
const defaultCtlTimeout = 30 * time.Second

// newCtl builds the admin API client of ctl, apply and export.
func newCtl(base, tokenFile string, asJSON bool, timeout time.Duration, getenv func(string) string, stdout, stderr io.Writer) (*ctl, error) {
	token := getenv("URLTRACKER_ADMIN_TOKEN")
	if tokenFile != "" {
		b, err := os.ReadFile(tokenFile)
		if err != nil {
			return nil, fmt.Errorf("read --token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("no admin token: set URLTRACKER_ADMIN_TOKEN or pass --token-file (the file serve wrote beside the database)")
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--url %q: want http://host:port", base)
	}
	return &ctl{
		base: strings.TrimRight(base, "/"), token: token, asJSON: asJSON,
		client: &http.Client{Timeout: timeout}, stdout: stdout, stderr: stderr, now: time.Now, pollGap: 2 * time.Second,
	}, nil
}

// ctlExit maps the error of an admin command to its exit code.
func ctlExit(err error) error {
	var ce *ctlError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errFailureFound):
		return exitWith(ctlExitFailureFound, err)
	case errors.As(err, &ce) && ce.final:
		return exitWith(ctlExitUnreachable, err)
	default:
		return exitWith(ctlExitFailureFound, err)
	}
}

// ctlError is a request that did not get a usable answer. final errors
// (unreachable, bad token) exit 3.
type ctlError struct {
	msg   string
	final bool
}

func (e *ctlError) Error() string { return e.msg }

// call sends one admin request without a body and decodes the JSON answer
// into v; it returns the raw answer too, for --json.
func (c *ctl) call(ctx context.Context, method, path string, v any) ([]byte, error) {
	return c.send(ctx, method, path, nil, v)
}

// send is call with a JSON request body (none when body is nil).
func (c *ctl) send(ctx context.Context, method, path string, body, v any) ([]byte, error) {
	var reqBody io.Reader
	if body != nil {
		b, err := jsonenc.Marshal(body)
		if err != nil {
			return nil, err
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, reqBody)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, &ctlError{msg: fmt.Sprintf("cannot reach urltracker at %s: %v", c.base, err), final: true}
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, &ctlError{msg: fmt.Sprintf("read answer of %s %s: %v", method, path, err), final: true}
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, &ctlError{msg: fmt.Sprintf("%s %s: %d: the token was refused (wrong, expired or revoked)", method, path, resp.StatusCode), final: true}
	}
	if resp.StatusCode == http.StatusForbidden && !strings.Contains(string(answer), "kill switch is off") {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(answer, &e)
		return nil, &ctlError{msg: fmt.Sprintf("%s %s: %d: %s", method, path, resp.StatusCode, e.Error), final: true}
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(answer, &e)
		if e.Error == "" {
			e.Error = strings.TrimSpace(string(answer))
		}
		return answer, &ctlError{msg: fmt.Sprintf("%s %s: %d: %s", method, path, resp.StatusCode, e.Error), final: resp.StatusCode >= 500}
	}
	if v != nil {
		if err := json.Unmarshal(answer, v); err != nil {
			return answer, &ctlError{msg: fmt.Sprintf("%s %s: answer is not the expected JSON: %v", method, path, err)}
		}
	}
	return answer, nil
}

// printJSON prints an API answer as it came, indented.
func (c *ctl) printJSON(raw []byte) {
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		buf.Reset()
		buf.Write(raw)
	}
	fmt.Fprintln(c.stdout, strings.TrimSpace(buf.String()))
}

// table writes aligned columns to stdout.
func (c *ctl) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	tw.Flush()
}

// ago renders a time as an age ("3m ago"), or "never".
func (c *ctl) ago(t *time.Time) string {
	if t == nil || t.IsZero() {
		return "never"
	}
	d := c.now().Sub(*t).Round(time.Second)
	if d < 0 {
		d = 0
	}
	return d.String() + " ago"
}

type ctlStatusOffer struct {
	ID           int64      `json:"id"`
	Name         string     `json:"offer_name"`
	Enabled      bool       `json:"enabled"`
	WebhookCount int64      `json:"webhook_count"`
	CheckCount   int64      `json:"check_count"`
	LastWebhook  *time.Time `json:"last_webhook_at"`
	LastCheck    *time.Time `json:"last_check_at"`
	LastVerdict  string     `json:"last_verdict"`
}

type ctlStatus struct {
	Enabled      bool `json:"enabled"`
	ActiveOffers int  `json:"active_offers"`
	Stats        struct {
		Webhooks    int64    `json:"webhooks"`
		Checks      int64    `json:"checks"`
		SuccessRate *float64 `json:"success_rate"`
	} `json:"stats_last_hour"`
	Instance string           `json:"instance"`
	Offers   []ctlStatusOffer `json:"offers"`
}

// readStatus reads the status with its offers. The status is public; only
// an accepted admin token adds the offers, so their absence means the token
// was refused.
func (c *ctl) readStatus(ctx context.Context) (ctlStatus, []byte, error) {
	var st ctlStatus
	raw, err := c.call(ctx, http.MethodGet, "/api/trackier-status", &st)
	if err != nil {
		return st, raw, err
	}
	var probe struct {
		Offers json.RawMessage `json:"offers"`
	}
	if json.Unmarshal(raw, &probe) != nil || probe.Offers == nil {
		return st, raw, &ctlError{msg: "GET /api/trackier-status: the admin token was refused (the answer has no offers)", final: true}
	}
	return st, raw, nil
}

// failing tells whether a verdict means the offer's link is not healthy;
// blocked (refused by the address guard) and no check yet are not failures.
func failing(verdict string) bool {
	return verdict != "" && verdict != "healthy" && verdict != "blocked"
}

func (c *ctl) status(ctx context.Context) error {
	st, raw, err := c.readStatus(ctx)
	if err != nil {
		return err
	}
	broken := 0
	for _, o := range st.Offers {
		if o.Enabled && failing(o.LastVerdict) {
			broken++
		}
	}
	if c.asJSON {
		c.printJSON(raw)
	} else {
		automation := "ON"
		if !st.Enabled {
			automation = "OFF (kill switch): no checks or actions run; turn on with: urltracker ctl killswitch on --reason '…'"
		}
		rate := "n/a"
		if st.Stats.SuccessRate != nil {
			rate = fmt.Sprintf("%.1f%%", *st.Stats.SuccessRate*100)
		}
		fmt.Fprintf(c.stdout, "automation:   %s\ninstance:     %s\nactive offers: %d (%d failing)\nlast hour:    %d webhooks, %d checks, success %s\n",
			automation, st.Instance, st.ActiveOffers, broken, st.Stats.Webhooks, st.Stats.Checks, rate)
	}
	if !st.Enabled || broken > 0 {
		return fmt.Errorf("%w: automation on=%t, %d failing offers", errFailureFound, st.Enabled, broken)
	}
	return nil
}

func (c *ctl) killSwitch(ctx context.Context, on bool, reason string) error {
	q := url.Values{"enabled": {strconv.FormatBool(on)}, "reason": {reason}}
	var ans struct {
		Previous bool `json:"previous_state"`
		Current  bool `json:"current_state"`
	}
	raw, err := c.call(ctx, http.MethodPost, "/api/trackier-emergency-toggle?"+q.Encode(), &ans)
	if err != nil {
		return err
	}
	if c.asJSON {
		c.printJSON(raw)
		return nil
	}
	state := map[bool]string{true: "on", false: "off"}
	fmt.Fprintf(c.stdout, "automation was %s, is now %s (fleet-wide within a second)\n", state[ans.Previous], state[ans.Current])
	return nil
}

func (c *ctl) offers(ctx context.Context) error {
	st, raw, err := c.readStatus(ctx)
	if err != nil {
		return err
	}
	broken := 0
	rows := make([][]string, 0, len(st.Offers))
	for _, o := range st.Offers {
		verdict := o.LastVerdict
		if verdict == "" {
			verdict = "-"
		}
		if o.Enabled && failing(o.LastVerdict) {
			broken++
		}
		rows = append(rows, []string{strconv.FormatInt(o.ID, 10), o.Name, strconv.FormatBool(o.Enabled), verdict, c.ago(o.LastCheck), strconv.FormatInt(o.WebhookCount, 10)})
	}
	if c.asJSON {
		c.printJSON(raw)
	} else {
		c.table("ID\tNAME\tENABLED\tLAST VERDICT\tLAST CHECK\tWEBHOOKS", rows)
	}
	if broken > 0 {
		return fmt.Errorf("%w: %d failing offers", errFailureFound, broken)
	}
	return nil
}

type ctlHop struct {
	URL          string `json:"url"`
	Status       int    `json:"status"`
	RedirectType string `json:"redirect_type"`
	TimingMS     int64  `json:"timing_ms"`
}

type ctlCheck struct {
	ID         int64     `json:"id"`
	OfferID    int64     `json:"offer_id"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Verdict    string    `json:"verdict"`
	FinalURL   string    `json:"final_url"`
	Error      string    `json:"error"`
	Chain      []ctlHop  `json:"chain"`
}

type ctlAction struct {
	ID         int64     `json:"id"`
	Kind       string    `json:"kind"`
	At         time.Time `json:"at"`
	Outcome    string    `json:"outcome"`
	StatusCode int       `json:"status_code"`
	Error      string    `json:"error"`
}

func (c *ctl) offerShow(ctx context.Context, id int64) error {
	var offer struct {
		ID       int64  `json:"id"`
		Name     string `json:"name"`
		URL      string `json:"url"`
		Enabled  bool   `json:"enabled"`
		Trackier struct {
			CampaignID string `json:"campaign_id"`
		} `json:"trackier"`
		Stats struct {
			LastVerdict string `json:"last_verdict"`
		} `json:"stats"`
	}
	rawOffer, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers/%d", id), &offer)
	if err != nil {
		return err
	}
	var checks struct {
		Checks []ctlCheck `json:"checks"`
	}
	rawChecks, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers/%d/checks?limit=10", id), &checks)
	if err != nil {
		return err
	}
	if c.asJSON {
		fmt.Fprintf(c.stdout, "{\"offer\":%s,\"checks\":%s}\n", bytes.TrimSpace(rawOffer), bytes.TrimSpace(rawChecks))
	} else {
		campaign := offer.Trackier.CampaignID
		if campaign == "" {
			campaign = "none"
		}
		fmt.Fprintf(c.stdout, "offer %d %q  enabled=%t  campaign=%s\nurl: %s\n\n", offer.ID, offer.Name, offer.Enabled, campaign, offer.URL)
		rows := make([][]string, 0, len(checks.Checks))
		for _, ch := range checks.Checks {
			at := ch.StartedAt
			rows = append(rows, []string{strconv.FormatInt(ch.ID, 10), c.ago(&at), ch.Verdict, strconv.Itoa(len(ch.Chain)), fmt.Sprintf("%dms", ch.DurationMS), ch.FinalURL})
		}
		c.table("CHECK\tWHEN\tVERDICT\tHOPS\tTIME\tLANDING", rows)
	}
	if offer.Enabled && failing(offer.Stats.LastVerdict) {
		return fmt.Errorf("%w: offer %d is %s", errFailureFound, id, offer.Stats.LastVerdict)
	}
	return nil
}

func (c *ctl) offerCheck(ctx context.Context, id int64) error {
	var ch ctlCheck
	raw, err := c.call(ctx, http.MethodPost, fmt.Sprintf("/api/trackier-trigger/%d", id), &ch)
	if err != nil {
		return err
	}
	if c.asJSON {
		c.printJSON(raw)
	} else {
		fmt.Fprintf(c.stdout, "check %d of offer %d: %s in %dms\n", ch.ID, id, ch.Verdict, ch.DurationMS)
		rows := make([][]string, 0, len(ch.Chain))
		for i, h := range ch.Chain {
			rows = append(rows, []string{strconv.Itoa(i + 1), strconv.Itoa(h.Status), h.RedirectType, fmt.Sprintf("%dms", h.TimingMS), h.URL})
		}
		c.table("HOP\tSTATUS\tTYPE\tTIME\tURL", rows)
		if ch.Error != "" {
			fmt.Fprintln(c.stdout, "error:", ch.Error)
		}
	}
	if failing(ch.Verdict) {
		return fmt.Errorf("%w: offer %d is %s", errFailureFound, id, ch.Verdict)
	}
	return nil
}

func (c *ctl) actions(ctx context.Context, id int64) error {
	var ans struct {
		Actions []ctlAction `json:"actions"`
	}
	raw, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers/%d/actions", id), &ans)
	if err != nil {
		return err
	}
	if c.asJSON {
		c.printJSON(raw)
		return nil
	}
	rows := make([][]string, 0, len(ans.Actions))
	for _, a := range ans.Actions {
		at := a.At
		rows = append(rows, []string{strconv.FormatInt(a.ID, 10), c.ago(&at), a.Kind, a.Outcome, strconv.Itoa(a.StatusCode), a.Error})
	}
	c.table("ACTION\tWHEN\tKIND\tOUTCOME\tHTTP\tERROR", rows)
	return nil
}

// tail polls the status and, for each offer whose last check changed,
// prints its checks and actions newer than those seen, until ctx ends
// (Ctrl-C). It reads only the offers that moved, so a quiet fleet of many
// offers costs one status request per poll.
func (c *ctl) tail(ctx context.Context) error {
	lastCheck := map[int64]time.Time{}
	seenCheck := map[int64]int64{}
	seenAction := map[int64]int64{}
	for first := true; ; first = false {
		st, _, err := c.readStatus(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		for _, o := range st.Offers {
			if o.LastCheck == nil || lastCheck[o.ID].Equal(*o.LastCheck) {
				continue
			}
			lastCheck[o.ID] = *o.LastCheck
			if err := c.tailOffer(ctx, o, seenCheck, seenAction, first); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
		if first {
			fmt.Fprintf(c.stderr, "following checks and actions of %d offers (Ctrl-C to stop)\n", len(st.Offers))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(c.pollGap):
		}
	}
}

// tailOffer prints the offer's checks and actions newer than those seen;
// the first round only records where each offer stands.
func (c *ctl) tailOffer(ctx context.Context, o ctlStatusOffer, seenCheck, seenAction map[int64]int64, first bool) error {
	var checks struct {
		Checks []ctlCheck `json:"checks"`
	}
	if _, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers/%d/checks?limit=20", o.ID), &checks); err != nil {
		return err
	}
	var actions struct {
		Actions []ctlAction `json:"actions"`
	}
	if _, err := c.call(ctx, http.MethodGet, fmt.Sprintf("/api/offers/%d/actions?limit=20", o.ID), &actions); err != nil {
		return err
	}
	// Lists are newest first; print oldest first.
	for i := len(checks.Checks) - 1; i >= 0; i-- {
		ch := checks.Checks[i]
		if ch.ID <= seenCheck[o.ID] {
			continue
		}
		seenCheck[o.ID] = ch.ID
		if first {
			continue
		}
		if c.asJSON {
			line, _ := jsonenc.Marshal(map[string]any{"type": "check", "offer_id": o.ID, "check": ch})
			fmt.Fprintln(c.stdout, string(line))
		} else {
			fmt.Fprintf(c.stdout, "%s  check   offer %d %q: %s in %dms → %s\n", ch.StartedAt.Local().Format(time.TimeOnly), o.ID, o.Name, ch.Verdict, ch.DurationMS, ch.FinalURL)
		}
	}
	for i := len(actions.Actions) - 1; i >= 0; i-- {
		a := actions.Actions[i]
		if a.ID <= seenAction[o.ID] {
			continue
		}
		seenAction[o.ID] = a.ID
		if first {
			continue
		}
		if c.asJSON {
			line, _ := jsonenc.Marshal(map[string]any{"type": "action", "offer_id": o.ID, "action": a})
			fmt.Fprintln(c.stdout, string(line))
		} else {
			fmt.Fprintf(c.stdout, "%s  action  offer %d %q: %s %s %s\n", a.At.Local().Format(time.TimeOnly), o.ID, o.Name, a.Kind, a.Outcome, a.Error)
		}
	}
	return nil
}
