package dashboards

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/grafana/grafana-openapi-client-go/client/annotations"
	gdashboards "github.com/grafana/grafana-openapi-client-go/client/dashboards"
	"github.com/grafana/grafana-openapi-client-go/client/folders"
	"github.com/grafana/grafana-openapi-client-go/client/health"
	"github.com/grafana/grafana-openapi-client-go/models"

	httptransport "github.com/go-openapi/runtime/client"
)

// ClientConfig configures a Grafana client.
type ClientConfig struct {
	// URL is Grafana's root, e.g. http://grafana:3000 or
	// https://example.com/grafana (the API is under /api).
	URL string
	// Token is a service account token, sent as a bearer token.
	Token string
	// HTTPClient sends the requests (default: a client of its own with a
	// 30s timeout over a copy of Go's default transport). Its transport is
	// wrapped with the retries; the client passed is not changed.
	HTTPClient *http.Client
	// Retry bounds the retries of requests answered 429 or 5xx, or not
	// answered at all.
	Retry RetryPolicy
	// Timeout bounds one call, retries included (default 30s).
	Timeout time.Duration

	// attemptFailed is told of every failed attempt (the annotator counts
	// them).
	attemptFailed func()
}

// Client speaks to Grafana's HTTP API through grafana-openapi-client-go.
//
// The library's own constructors (client.NewHTTPClientWithConfig and the
// package's Default client) set the TLS configuration of the process-wide
// http.DefaultTransport and retry with a blocking sleep that ignores the
// request's context; this client builds the go-openapi runtime itself over
// its own http.Client, with retries that stop when the context ends.
type Client struct {
	url         string
	timeout     time.Duration
	health      health.ClientService
	folders     folders.ClientService
	dashboards  gdashboards.ClientService
	annotations annotations.ClientService
}

func (c *ClientConfig) defaults() error {
	if c.URL == "" {
		return errors.New("a Grafana URL is required")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("the Grafana URL must be an http or https URL such as http://grafana:3000, got %q", c.URL)
	}
	if c.Token == "" {
		return errors.New("a Grafana token is required (a service account token with the Editor role)")
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	c.Retry.defaults()
	return nil
}

// NewClient returns a client of the Grafana at cfg.URL.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	u, _ := url.Parse(cfg.URL)
	hc := *cfg.HTTPClient
	next := hc.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	hc.Transport = &retryTransport{next: next, policy: cfg.Retry, attemptFailed: cfg.attemptFailed}
	rt := httptransport.NewWithClient(u.Host, path.Join("/", u.Path, "api"), []string{u.Scheme}, &hc)
	rt.DefaultAuthentication = httptransport.BearerToken(cfg.Token)
	return &Client{
		url:         strings.TrimSuffix(cfg.URL, "/"),
		timeout:     cfg.Timeout,
		health:      health.New(rt, strfmt.Default),
		folders:     folders.New(rt, strfmt.Default),
		dashboards:  gdashboards.New(rt, strfmt.Default),
		annotations: annotations.New(rt, strfmt.Default),
	}, nil
}

// URL is Grafana's root.
func (c *Client) URL() string { return c.url }

// Health returns Grafana's version; it needs no token.
func (c *Client) Health(ctx context.Context) (string, error) {
	ok, err := c.health.GetHealthWithParams(health.NewGetHealthParamsWithContext(ctx).WithTimeout(c.timeout))
	if err != nil {
		return "", apiError("check health", err)
	}
	return ok.Payload.Version, nil
}

// folder returns the folder with uid; found is false when there is none.
func (c *Client) folder(ctx context.Context, uid string) (title string, found bool, err error) {
	ok, err := c.folders.GetFolderByUIDWithParams(folders.NewGetFolderByUIDParamsWithContext(ctx).WithTimeout(c.timeout).WithFolderUID(uid))
	if err != nil {
		if status(err) == http.StatusNotFound {
			return "", false, nil
		}
		return "", false, apiError("read folder "+uid, err)
	}
	return ok.Payload.Title, true, nil
}

func (c *Client) createFolder(ctx context.Context, uid, title string) error {
	_, err := c.folders.CreateFolderWithParams(folders.NewCreateFolderParamsWithContext(ctx).WithTimeout(c.timeout).
		WithBody(&models.CreateFolderCommand{UID: uid, Title: title}))
	if err != nil {
		return apiError(fmt.Sprintf("create folder %q (uid %s)", title, uid), err)
	}
	return nil
}

// stored is a dashboard as Grafana holds it.
type stored struct {
	model     map[string]any
	version   int64
	folderUID string
}

// dashboard returns the dashboard with uid; found is false when there is none.
func (c *Client) dashboard(ctx context.Context, uid string) (s stored, found bool, err error) {
	ok, err := c.dashboards.GetDashboardByUIDWithParams(gdashboards.NewGetDashboardByUIDParamsWithContext(ctx).WithTimeout(c.timeout).WithUID(uid))
	if err != nil {
		if status(err) == http.StatusNotFound {
			return stored{}, false, nil
		}
		return stored{}, false, apiError("read dashboard "+uid, err)
	}
	model, err := normalize(ok.Payload.Dashboard)
	if err != nil {
		return stored{}, false, fmt.Errorf("read dashboard %s: %w", uid, err)
	}
	s = stored{model: model}
	if m := ok.Payload.Meta; m != nil {
		s.version, s.folderUID = m.Version, m.FolderUID
	}
	if v, ok := model["version"].(float64); ok && s.version == 0 {
		s.version = int64(v)
	}
	return s, true, nil
}

// saveDashboard creates or updates a dashboard. version is the stored
// version being replaced (0 to create): Grafana refuses with 412 when the
// dashboard has changed since.
func (c *Client) saveDashboard(ctx context.Context, model map[string]any, folderUID string, version int64, message string) (int64, error) {
	uid, _ := model["uid"].(string)
	body := make(map[string]any, len(model)+1)
	for k, v := range model {
		body[k] = v
	}
	delete(body, "id")
	if version > 0 {
		body["version"] = version
	} else {
		delete(body, "version")
	}
	ok, err := c.dashboards.PostDashboardWithParams(gdashboards.NewPostDashboardParamsWithContext(ctx).WithTimeout(c.timeout).
		WithBody(&models.SaveDashboardCommand{Dashboard: body, FolderUID: folderUID, Message: message}))
	if err != nil {
		return 0, apiError("save dashboard "+uid, err)
	}
	if ok.Payload.Version == nil {
		return 0, nil
	}
	return *ok.Payload.Version, nil
}

// annotate posts one annotation.
func (c *Client) annotate(ctx context.Context, cmd *models.PostAnnotationsCmd) error {
	_, err := c.annotations.PostAnnotationWithParams(annotations.NewPostAnnotationParamsWithContext(ctx).WithTimeout(c.timeout).WithBody(cmd))
	if err != nil {
		return apiError("annotate dashboard "+cmd.DashboardUID, err)
	}
	return nil
}

// normalize turns a decoded JSON value into a map with float64 numbers,
// so that a dashboard read back compares equal to one built here.
func normalize(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}
