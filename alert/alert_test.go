package alert

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestSendPostsSlackCompatibleJSON(t *testing.T) {
	var got map[string]any
	var contentType string
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		contentType = r.Header.Get("Content-Type")
		body, _ := io.ReadAll(r.Body)
		json.Unmarshal(body, &got)
		io.WriteString(w, "ok")
	}))
	defer recv.Close()
	a := Alert{Text: "offer \"Shoes\" is broken", Event: "health_changed", OfferID: 7, OfferName: "Shoes",
		Verdict: "broken", PreviousVerdict: "healthy", CheckID: 3, Timestamp: time.Now()}
	res, err := NewSender(5*time.Second).Send(context.Background(), recv.URL+"/services/T0/B0/secretpath", a)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "application/json" || got["text"] != a.Text || got["offer_name"] != "Shoes" || got["previous_verdict"] != "healthy" {
		t.Errorf("receiver got %s %v", contentType, got)
	}
	if res.StatusCode != 200 || strings.Contains(res.URL, "secretpath") {
		t.Errorf("result %+v", res)
	}
}

func TestSendFailures(t *testing.T) {
	tests := []struct {
		status    int
		retryable bool
	}{
		{429, true}, {500, true}, {503, true}, {400, false}, {404, false}, {410, false},
	}
	for _, tt := range tests {
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
		_, err := NewSender(5*time.Second).Send(context.Background(), recv.URL+"/hook", Alert{Text: "x"})
		recv.Close()
		var aerr *Error
		if !errors.As(err, &aerr) || aerr.Retryable() != tt.retryable || aerr.StatusCode != tt.status {
			t.Errorf("status %d: err = %v, want retryable=%v", tt.status, err, tt.retryable)
		}
	}
}

func TestHungReceiverEndsAtDeadline(t *testing.T) {
	release := make(chan struct{})
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer recv.Close()
	defer close(release)
	start := time.Now()
	_, err := NewSender(300*time.Millisecond).Send(context.Background(), recv.URL+"/secret-token-path", Alert{Text: "x"})
	var aerr *Error
	if !errors.As(err, &aerr) || !aerr.Retryable() {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("took %s", took)
	}
	if strings.Contains(err.Error(), "secret-token-path") {
		t.Errorf("error leaks the alert URL's path: %v", err)
	}
}
