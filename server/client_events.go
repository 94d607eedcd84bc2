package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
)

// Event posts a patch lifecycle event (POST /v1/patches/{id}/events). The
// idempotency key in the event makes a retry safe: the server stores it
// once.
func (c *Client) Event(ctx context.Context, patchID string, in EventInput) (EventView, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return EventView{}, fmt.Errorf("encoding event: %w", err)
	}
	var out eventAnswer
	if err := c.do(ctx, http.MethodPost, "/v1/patches/"+url.PathEscape(patchID)+"/events", body, &out); err != nil {
		return EventView{}, err
	}
	return out.EventView, nil
}
