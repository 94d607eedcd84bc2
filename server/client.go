package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/patchgate/patchgate/gate"
)

// maxResponseBytes bounds what the client reads of an answer.
const maxResponseBytes = 10 << 20

// Client asks a patchgate server for decisions (used by `patchgate check`).
type Client struct {
	// URL is the server's root, e.g. http://patchgate:8080.
	URL string
	// Token is sent as a bearer token when not empty.
	Token string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
}

// Gate asks POST /v1/gate. A decision of any verdict is returned without
// error; a non-2xx answer is returned as an *APIError.
func (c *Client) Gate(ctx context.Context, req gate.Request) (gate.Decision, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return gate.Decision{}, fmt.Errorf("encoding gate request: %w", err)
	}
	var d gate.Decision
	if err := c.do(ctx, http.MethodPost, "/v1/gate", body, &d); err != nil {
		return gate.Decision{}, err
	}
	return d, nil
}

func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	url := strings.TrimRight(c.URL, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("%s %s: reading answer: %w", method, url, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return responseError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decoding answer: %w", method, url, err)
	}
	return nil
}

// responseError reads the error envelope of a non-2xx answer, or keeps the
// start of the body when it is not one (a proxy's HTML page, say).
func responseError(status int, body []byte) *APIError {
	var env errorEnvelope
	if err := json.Unmarshal(body, &env); err == nil && env.Error != nil && env.Error.Message != "" {
		e := *env.Error
		e.Status = status
		return &e
	}
	msg := strings.TrimSpace(string(body))
	if len(msg) > 512 {
		msg = msg[:512] + "..."
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{Status: status, Message: msg}
}
