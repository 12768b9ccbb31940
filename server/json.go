package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/urltracker/urltracker"
	"github.com/urltracker/urltracker/internal/jsonenc"
)

// maxJSONBody bounds every JSON request body.
const maxJSONBody = 64 << 10

// writeJSON is the one way handlers answer with JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = jsonenc.Encode(w, v)
}

// errorBody is the one error shape of the API.
type errorBody struct {
	Success bool                   `json:"success"`
	Error   string                 `json:"error"`
	Fields  urltracker.FieldErrors `json:"fields,omitempty"`
}

// writeError answers {"success":false,"error":msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// writeFieldErrors answers 400 with a message per invalid field.
func writeFieldErrors(w http.ResponseWriter, fe urltracker.FieldErrors) {
	writeJSON(w, http.StatusBadRequest, errorBody{Error: fe.Error(), Fields: fe})
}

// decodeJSON reads a JSON object body of at most maxJSONBody bytes into v. It
// writes the error answer itself and returns false on failure. A field v
// does not have is refused, not ignored: "interval" for
// "update_interval_seconds" would otherwise be silently dropped.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r, maxJSONBody)
	if !ok {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		err = trailingText(dec, body)
	}
	if err != nil {
		if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			// encoding/json has no error type for this one.
			writeError(w, http.StatusBadRequest, "unknown field "+field+" in the request body: see README.md for the fields of this endpoint")
			return false
		}
		writeError(w, http.StatusBadRequest, "malformed JSON body: "+jsonErrorText(err))
		return false
	}
	return true
}

// trailingText refuses anything but white space after the JSON value dec
// has decoded from body: text after a body is a mistake, never ignored.
// (Decoder.More would let a stray "}" or "]" pass.)
func trailingText(dec *json.Decoder, body []byte) error {
	if rest := bytes.TrimLeft(body[dec.InputOffset():], " \t\r\n"); len(rest) > 0 {
		return fmt.Errorf("text after the JSON value at byte %d", len(body)-len(rest))
	}
	return nil
}

// readBody reads at most limit bytes; a larger body is answered 413.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if r.ContentLength > limit {
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d KiB", limit>>10))
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d KiB", limit>>10))
		} else {
			writeError(w, http.StatusBadRequest, "could not read request body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

func jsonErrorText(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF):
		return "the body is empty: send a JSON object"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON ends early"
	case errors.As(err, &syntax):
		return fmt.Sprintf("%s at byte %d", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field != "" {
			return fmt.Sprintf("field %q must be %s, not %s", typ.Field, typ.Type, typ.Value)
		}
		return fmt.Sprintf("expected %s, not %s", typ.Type, typ.Value)
	}
	return err.Error()
}

// pathID parses the {name} path value as a positive integer id.
func pathID(w http.ResponseWriter, r *http.Request, name string) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s must be a positive integer offer id", name))
		return 0, false
	}
	return id, true
}

// listLimit reads ?limit= (default 50, 1 to 1000).
func listLimit(w http.ResponseWriter, r *http.Request) (int, bool) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return 50, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		writeError(w, http.StatusBadRequest, "limit must be an integer from 1 to 1000")
		return 0, false
	}
	return n, true
}

// storeError maps a storage error to an answer.
func storeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, urltracker.ErrNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, urltracker.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		writeError(w, http.StatusServiceUnavailable, "storage unavailable, try again: "+err.Error())
	}
}

// handleNotFound answers what no route under /api/ matched, in the API's
// error shape: 405 with Allow when the path exists for other methods, else
// 404. ServeMux would answer 405 itself, but this catch-all matches first.
func handleNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
			probe := &http.Request{Method: m, URL: r.URL, Host: r.Host}
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s: use %s", r.Method, r.URL.Path, strings.Join(allow, " or ")))
			return
		}
		writeError(w, http.StatusNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}
