package agreement

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Truth is what a real browser did with the corpus.
type Truth struct {
	Browser string `json:"browser"`
	// Landings maps a case's name to the path and query, from the server's
	// origin, of the page the browser ended on.
	Landings map[string]string `json:"landings"`
}

//go:embed truth.json
var truthJSON []byte

// LoadTruth returns the landings recorded in truth.json.
func LoadTruth() (Truth, error) {
	var t Truth
	if err := json.Unmarshal(truthJSON, &t); err != nil {
		return Truth{}, fmt.Errorf("read truth.json: %w", err)
	}
	return t, nil
}
