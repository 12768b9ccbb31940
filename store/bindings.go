package store

import (
	"context"
	"fmt"
)

// CampaignBinding is the Trackier campaign one offer is bound to.
type CampaignBinding struct {
	OfferID    int64
	APIBaseURL string
	CampaignID string
}

// CampaignBindings lists the Trackier campaign of every bound offer, so that
// an import can tell which campaigns already have an offer.
func (db *DB) CampaignBindings(ctx context.Context) ([]CampaignBinding, error) {
	rows, err := db.sql.QueryContext(ctx, `SELECT id, trackier_api_base_url, trackier_campaign_id FROM offers
		WHERE trackier_campaign_id <> '' ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list campaign bindings: %w", err)
	}
	defer rows.Close()
	var out []CampaignBinding
	for rows.Next() {
		var b CampaignBinding
		if err := rows.Scan(&b.OfferID, &b.APIBaseURL, &b.CampaignID); err != nil {
			return nil, fmt.Errorf("list campaign bindings: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
