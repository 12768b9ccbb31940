package jsonenc

import (
	"bytes"
	"encoding/json"
	"testing"
)

func TestNoHTMLEscaping(t *testing.T) {
	v := map[string]string{"webhook_url": "https://t.example/api/trackier-webhook?token=T&click_id={click_id}", "error": "<nil> & more"}
	want := `{"error":"<nil> & more","webhook_url":"https://t.example/api/trackier-webhook?token=T&click_id={click_id}"}`
	got, err := Marshal(v)
	if err != nil || string(got) != want {
		t.Errorf("Marshal = %s, %v; want %s", got, err, want)
	}
	var b bytes.Buffer
	if err := Encode(&b, v); err != nil || b.String() != want+"\n" {
		t.Errorf("Encode = %q, %v", b.String(), err)
	}
	b.Reset()
	if err := EncodeIndent(&b, v); err != nil || bytes.Contains(b.Bytes(), []byte(`\u00`)) {
		t.Errorf("EncodeIndent = %q, %v", b.String(), err)
	}
	var back map[string]string
	if err := json.Unmarshal(got, &back); err != nil || back["webhook_url"] != v["webhook_url"] {
		t.Errorf("round trip = %v, %v", back, err)
	}
}
