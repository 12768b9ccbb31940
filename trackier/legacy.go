package trackier

import "context"

// The calls below keep the old service's behaviour (status paused, and the
// campaign edit endpoint for everything) for the jobs that still use them;
// they go once the policy package acts through SetStatus and SetURL.

// Pause sets the campaign's status to paused through the campaign edit
// endpoint.
func (c *Client) Pause(ctx context.Context, b Binding) (Result, error) {
	return c.edit(ctx, b, map[string]any{"status": "paused"})
}

// Resume sets the campaign's status to active through the campaign edit
// endpoint.
func (c *Client) Resume(ctx context.Context, b Binding) (Result, error) {
	return c.edit(ctx, b, map[string]any{"status": "active"})
}

// SetDestination sets the campaign's URL.
func (c *Client) SetDestination(ctx context.Context, b Binding, destination string) (Result, error) {
	return c.edit(ctx, b, map[string]any{"url": destination})
}
