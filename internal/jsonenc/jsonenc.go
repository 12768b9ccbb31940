// Package jsonenc is urltracker's one JSON writer. API answers, stored
// documents, alerts, Trackier request bodies and command output are all
// encoded here, without HTML escaping: encoding/json writes & < > as \u0026
// \u003c \u003e by default, so a push URL copied from a raw answer would
// reach Trackier with "\u0026" in place of every "&".
package jsonenc

import (
	"bytes"
	"encoding/json"
	"io"
)

// Marshal is json.Marshal without HTML escaping.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := Encode(&b, v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Encode writes v and a newline to w.
func Encode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// EncodeIndent writes v indented by two spaces, and a newline, for people.
func EncodeIndent(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
