package trackier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Trackier's error codes, from {"success":false,"error":{"code","message"}}.
const (
	CodeInvalidKey       = 13
	CodeNotFound         = 31
	CodeTooManyRequests  = 40
	CodeIPNotWhitelisted = 41
	CodeMaintenance      = 50
)

// Error is a failed API call. StatusCode is the HTTP status (0 when no
// answer came), Code Trackier's error code (0 when the answer had none) and
// Msg says what to do next. Retryable tells whether trying again later may
// succeed: true for codes 40 and 50, 429, 5xx, timeouts, connection errors
// and an open breaker; false for codes 13, 31, 41 and other 4xx (a wrong
// key, campaign or IP whitelist does not heal by waiting).
type Error struct {
	StatusCode int
	Code       int
	Msg        string
	retryable  bool
	cause      error
}

func (e *Error) Error() string { return e.Msg }

// Retryable tells whether the call may succeed if tried again later.
func (e *Error) Retryable() bool { return e.retryable }

func (e *Error) Unwrap() error { return e.cause }

// ErrBreakerOpen is wrapped by the error of a call refused because the API
// base URL failed BreakerThreshold times in a row.
var ErrBreakerOpen = errors.New("circuit breaker open")

// answer is the envelope every Trackier answer shares.
type answer struct {
	Success *bool           `json:"success"`
	Error   json.RawMessage `json:"error"`
}

// answerError classifies an answer: nil for a success, else an *Error. A
// success:false body is a failure whatever the HTTP status.
func answerError(status int, raw []byte) *Error {
	var a answer
	decoded := json.Unmarshal(raw, &a) == nil
	ok2xx := status >= 200 && status < 300
	if ok2xx && (!decoded || a.Success == nil || *a.Success) {
		return nil
	}
	code, message := errorDetail(a.Error)
	e := &Error{StatusCode: status, Code: code, retryable: status == http.StatusTooManyRequests || status >= 500}
	said := fmt.Sprintf("Trackier API answered %d %s", status, http.StatusText(status))
	if code != 0 || message != "" {
		said = fmt.Sprintf("Trackier API answered %d with code %d", status, code)
		if message != "" {
			said += " (" + message + ")"
		}
	}
	switch code {
	case CodeInvalidKey:
		e.retryable, e.Msg = false, said+": the API key is not valid; set trackier.api_key to the admin API key from Trackier (Settings → API)"
	case CodeNotFound:
		e.retryable, e.Msg = false, said+": no such campaign; check trackier.campaign_id against the campaign's id in Trackier"
	case CodeTooManyRequests:
		e.retryable, e.Msg = true, said+": too many requests with this API key; urltracker retries later"
	case CodeIPNotWhitelisted:
		e.retryable, e.Msg = false, said+": Trackier refuses this caller's IP address; whitelist the egress IP of every urltracker instance in Trackier (Settings → API)"
	case CodeMaintenance:
		e.retryable, e.Msg = true, said+": Trackier is being upgraded; urltracker retries later"
	default:
		e.Msg = said
	}
	return e
}

// errorDetail reads the error member of a failure body, which is normally
// {"code","message"} but is read leniently: the code may be a number or a
// string, and the member may be a bare message.
func errorDetail(raw json.RawMessage) (code int, message string) {
	if len(raw) == 0 {
		return 0, ""
	}
	var obj struct {
		Code    json.RawMessage `json:"code"`
		Message string          `json:"message"`
	}
	if json.Unmarshal(raw, &obj) == nil {
		code, _ = strconv.Atoi(strings.Trim(string(obj.Code), `"`))
		return code, obj.Message
	}
	_ = json.Unmarshal(raw, &message)
	return 0, message
}

// transportError describes a call that got no answer. Its message never
// holds the request's headers, so the key cannot leak through it.
func transportError(err error, timeout time.Duration) *Error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return &Error{retryable: true, Msg: fmt.Sprintf("Trackier API did not answer within %s", timeout)}
	}
	if errors.Is(err, context.Canceled) {
		return &Error{retryable: true, Msg: "Trackier API call cancelled (shutdown)"}
	}
	return &Error{retryable: true, Msg: "Trackier API unreachable: " + err.Error()}
}
