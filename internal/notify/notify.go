// Package notify sends gate decisions to webhooks: Slack-compatible
// incoming webhooks ({"text": ...}) and plain JSON. Each webhook has its
// own bounded queue and worker, so a slow or down receiver holds up
// neither the gate's answers (Notify never blocks) nor the other webhooks;
// a notification that cannot be queued or delivered through its retries
// is dropped and counted. The pattern is dashboards.Annotator's.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Formats of a webhook's body.
const (
	FormatSlack = "slack"
	FormatJSON  = "json"
)

// Metrics, on the registry given.
const (
	MetricSent    = "patchgate_notifications_sent_total"
	MetricFailed  = "patchgate_notifications_failed_total"
	MetricDropped = "patchgate_notifications_dropped_total"
	MetricQueued  = "patchgate_notifications_queued"
)

// Reasons a notification is dropped (the reason label of MetricDropped).
const (
	DropQueueFull   = "queue_full"  // more decisions than the queue holds while the receiver is slow
	DropUnavailable = "unavailable" // the receiver kept failing or did not answer through every attempt
	DropRejected    = "rejected"    // the receiver refused it (4xx other than 408 and 429)
	DropShutdown    = "shutdown"    // still queued when Stop's time ran out
)

// Decision is what a notification tells of one gate decision.
type Decision struct {
	ID      string
	Time    time.Time
	Service string
	PatchID string
	Stage   string
	// Answer is the verdict answered; Verdict the one evaluated (they
	// differ in shadow mode, where the answer is always go).
	Answer, Verdict string
	// Shadow marks a stage in shadow mode.
	Shadow bool
	Reason string
}

// Webhook is one receiver.
type Webhook struct {
	// Name is shown in logs and metrics; URL never is (it may be a secret).
	Name, URL string
	// Format is FormatSlack or FormatJSON.
	Format string
	// On lists the evaluated verdicts sent (go, no_go, wait).
	On []string
	// Shadow sends the decisions of stages in shadow mode too.
	Shadow bool
}

// Config configures a Notifier.
type Config struct {
	Webhooks []Webhook
	// ExternalURL is the server's address for people: the decision page is
	// ExternalURL/ui/decisions/ID. Required.
	ExternalURL string
	// QueueSize bounds each webhook's queue (default 1,000).
	QueueSize int
	// Attempts per notification (default 4), Backoff before the second,
	// doubling after (default 1s), Timeout of each attempt (default 10s).
	Attempts int
	Backoff  time.Duration
	Timeout  time.Duration
	// Client sends the requests (default http.Client without a timeout of
	// its own: Timeout bounds each attempt).
	Client *http.Client
	// Registerer takes the metrics; none are registered when nil.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (c *Config) defaults() error {
	if c.ExternalURL == "" {
		return errors.New("the external URL the notifications link to is required")
	}
	if u, err := url.Parse(c.ExternalURL); err != nil || u.Host == "" {
		return fmt.Errorf("external URL %q is not an absolute URL", c.ExternalURL)
	}
	for i, w := range c.Webhooks {
		if w.Name == "" || w.URL == "" {
			return fmt.Errorf("webhook %d needs a name and a URL", i)
		}
		if w.Format != FormatSlack && w.Format != FormatJSON {
			return fmt.Errorf("webhook %q: format %q is not slack or json", w.Name, w.Format)
		}
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 1000
	}
	if c.Attempts <= 0 {
		c.Attempts = 4
	}
	if c.Backoff <= 0 {
		c.Backoff = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Client == nil {
		c.Client = &http.Client{}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Notifier sends decisions to the webhooks.
type Notifier struct {
	cfg     Config
	hooks   []*hook
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	stopped bool

	sent, failed *prometheus.CounterVec
	dropped      *prometheus.CounterVec
}

type hook struct {
	Webhook
	queue chan Decision
	done  chan struct{}
}

// New starts a Notifier; Stop ends it.
func New(cfg Config) (*Notifier, error) {
	if err := cfg.defaults(); err != nil {
		return nil, fmt.Errorf("invalid configuration: %w", err)
	}
	n := &Notifier{
		cfg: cfg,
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricSent, Help: "Decision notifications a webhook accepted.",
		}, []string{"webhook"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricFailed, Help: "Attempts to send a decision notification that failed (each retry counts).",
		}, []string{"webhook"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricDropped, Help: "Decision notifications given up, by webhook and reason: queue_full, unavailable, rejected, shutdown.",
		}, []string{"webhook", "reason"}),
	}
	for _, w := range cfg.Webhooks {
		h := &hook{Webhook: w, queue: make(chan Decision, cfg.QueueSize), done: make(chan struct{})}
		n.hooks = append(n.hooks, h)
		n.sent.WithLabelValues(w.Name)
		n.failed.WithLabelValues(w.Name)
		for _, r := range []string{DropQueueFull, DropUnavailable, DropRejected, DropShutdown} {
			n.dropped.WithLabelValues(w.Name, r)
		}
	}
	if r := cfg.Registerer; r != nil {
		queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricQueued, Help: "Decision notifications waiting to be sent, over every webhook.",
		}, func() float64 {
			total := 0
			for _, h := range n.hooks {
				total += len(h.queue)
			}
			return float64(total)
		})
		for _, c := range []prometheus.Collector{n.sent, n.failed, n.dropped, queued} {
			if err := r.Register(c); err != nil {
				return nil, fmt.Errorf("register notification metrics: %w", err)
			}
		}
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	for _, h := range n.hooks {
		go n.run(h)
	}
	return n, nil
}

// Notify queues d for every webhook that wants it, without waiting.
func (n *Notifier) Notify(d Decision) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, h := range n.hooks {
		if !h.wants(d) {
			continue
		}
		if n.stopped {
			n.dropped.WithLabelValues(h.Name, DropShutdown).Inc()
			continue
		}
		select {
		case h.queue <- d:
		default:
			n.dropped.WithLabelValues(h.Name, DropQueueFull).Inc()
		}
	}
}

func (h *hook) wants(d Decision) bool {
	if d.Shadow && !h.Shadow {
		return false
	}
	return slices.Contains(h.On, d.Verdict)
}

// Stop sends what is queued until ctx ends, then drops the rest. It is
// safe to call more than once.
func (n *Notifier) Stop(ctx context.Context) {
	n.mu.Lock()
	if !n.stopped {
		n.stopped = true
		for _, h := range n.hooks {
			close(h.queue)
		}
	}
	n.mu.Unlock()
	for _, h := range n.hooks {
		select {
		case <-h.done:
		case <-ctx.Done():
			n.cancel()
			<-h.done
		}
	}
	n.cancel()
}

func (n *Notifier) run(h *hook) {
	defer close(h.done)
	for d := range h.queue {
		if n.ctx.Err() != nil {
			n.dropped.WithLabelValues(h.Name, DropShutdown).Inc()
			continue
		}
		n.deliver(h, d)
	}
}

// deliver sends d with retries: a network error, 408, 429 and 5xx are
// tried again after a doubling pause; another 4xx is given up at once.
func (n *Notifier) deliver(h *hook, d Decision) {
	body, err := n.body(h.Format, d)
	if err != nil {
		n.dropped.WithLabelValues(h.Name, DropRejected).Inc()
		n.cfg.Logger.Error("encoding a notification", "webhook", h.Name, "err", err)
		return
	}
	wait := n.cfg.Backoff
	for attempt := 1; ; attempt++ {
		status, err := n.post(h.URL, body)
		switch {
		case err == nil && status/100 == 2:
			n.sent.WithLabelValues(h.Name).Inc()
			return
		case n.ctx.Err() != nil:
			n.dropped.WithLabelValues(h.Name, DropShutdown).Inc()
			return
		}
		n.failed.WithLabelValues(h.Name).Inc()
		if err == nil && status/100 == 4 && status != http.StatusRequestTimeout && status != http.StatusTooManyRequests {
			n.dropped.WithLabelValues(h.Name, DropRejected).Inc()
			n.cfg.Logger.Warn("webhook refused a decision notification; dropped", "webhook", h.Name, "status", status,
				"decision_id", d.ID)
			return
		}
		if attempt >= n.cfg.Attempts {
			n.dropped.WithLabelValues(h.Name, DropUnavailable).Inc()
			n.cfg.Logger.Warn("webhook unavailable; decision notification dropped", "webhook", h.Name, "status", status,
				"err", redact(err, h.URL), "decision_id", d.ID, "attempts", attempt)
			return
		}
		select {
		case <-time.After(wait):
		case <-n.ctx.Done():
			n.dropped.WithLabelValues(h.Name, DropShutdown).Inc()
			return
		}
		wait *= 2
	}
}

func (n *Notifier) post(target string, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(n.ctx, n.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "patchgate")
	resp, err := n.cfg.Client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, nil
}

// redact keeps a webhook's URL, which may hold a secret, out of an error
// that is logged.
func redact(err error, secret string) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if secret != "" {
		s = strings.ReplaceAll(s, secret, "<webhook url>")
		if u, perr := url.Parse(secret); perr == nil {
			s = strings.ReplaceAll(s, u.String(), "<webhook url>")
		}
	}
	return s
}

// Link is the decision page of d.
func (n *Notifier) Link(d Decision) string {
	return strings.TrimRight(n.cfg.ExternalURL, "/") + "/ui/decisions/" + url.PathEscape(d.ID)
}

// Text is the one-line message of d: verdict, what, reason; a decision
// in shadow mode says so first, and that the answer was go.
func Text(d Decision) string {
	what := fmt.Sprintf("%s %s at stage %s", d.Service, d.PatchID, d.Stage)
	v := strings.ToUpper(strings.ReplaceAll(d.Verdict, "_", " "))
	if d.Shadow {
		return fmt.Sprintf("[shadow] %s evaluated %s, not enforced (shadow mode answered %s): %s", what, v, d.Answer, d.Reason)
	}
	return fmt.Sprintf("%s: %s: %s", v, what, d.Reason)
}

// slackEscape escapes what Slack's mrkdwn reads as markup.
var slackEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// jsonBody is the json format.
type jsonBody struct {
	Text        string    `json:"text"`
	DecisionID  string    `json:"decision_id"`
	Decision    string    `json:"decision"`
	Evaluated   string    `json:"evaluated"`
	Mode        string    `json:"mode"`
	Shadow      bool      `json:"shadow"`
	Service     string    `json:"service"`
	PatchID     string    `json:"patch_id"`
	Stage       string    `json:"stage"`
	Reason      string    `json:"reason"`
	EvaluatedAt time.Time `json:"evaluated_at"`
	URL         string    `json:"url"`
}

func (n *Notifier) body(format string, d Decision) ([]byte, error) {
	link := n.Link(d)
	if format == FormatSlack {
		return json.Marshal(map[string]string{"text": slackEscape.Replace(Text(d)) + " <" + link + "|Open the decision>"})
	}
	mode := "enforce"
	if d.Shadow {
		mode = "shadow"
	}
	return json.Marshal(jsonBody{Text: Text(d), DecisionID: d.ID, Decision: d.Answer, Evaluated: d.Verdict, Mode: mode, Shadow: d.Shadow,
		Service: d.Service, PatchID: d.PatchID, Stage: d.Stage, Reason: d.Reason, EvaluatedAt: d.Time.UTC(), URL: link})
}
