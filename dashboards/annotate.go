package dashboards

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/grafana/grafana-openapi-client-go/models"
	"github.com/prometheus/client_golang/prometheus"
)

// Annotation is one gate decision to mark on the on-call dashboard.
type Annotation struct {
	Time    time.Time
	Service string
	PatchID string
	Stage   string
	// Verdict is the verdict the gate evaluated; in shadow mode the answer
	// was go whatever it is.
	Verdict string
	// Shadow marks a decision of a stage in shadow mode.
	Shadow bool
	// Text is the decision's reason.
	Text string
}

// Tags are the annotation's tags: patchgate, then service:, patch_id:,
// stage: and verdict: with their values, and mode:shadow for a decision
// of a stage in shadow mode.
func (a Annotation) Tags() []string {
	tags := []string{
		TagPatchgate,
		Tag("service", a.Service),
		Tag("patch_id", a.PatchID),
		Tag("stage", a.Stage),
		Tag("verdict", a.Verdict),
	}
	if a.Shadow {
		tags = append(tags, TagShadow)
	}
	return tags
}

// TagShadow marks the annotation of a decision made in shadow mode.
var TagShadow = Tag("mode", "shadow")

// Metrics of the Annotator, on the registry it is given.
const (
	MetricAnnotationsSent    = "patchgate_annotations_sent_total"
	MetricAnnotationsFailed  = "patchgate_annotations_failed_total"
	MetricAnnotationsDropped = "patchgate_annotations_dropped_total"
	MetricAnnotationsQueued  = "patchgate_annotations_queued"
)

// Reasons an annotation is dropped (the reason label of
// patchgate_annotations_dropped_total).
const (
	DropQueueFull   = "queue_full"  // more decisions than the queue holds while Grafana is slow
	DropUnavailable = "unavailable" // Grafana kept failing or did not answer through every retry
	DropRejected    = "rejected"    // Grafana refused it (4xx other than 429): retrying cannot help
	DropShutdown    = "shutdown"    // still queued when Stop's time ran out
)

// AnnotatorConfig configures an Annotator.
type AnnotatorConfig struct {
	// Grafana is the Grafana to annotate. Its Retry policy applies to each
	// annotation (default: 4 attempts, from 500ms apart).
	Grafana ClientConfig
	// DashboardUID is the dashboard annotated: the on-call dashboard.
	DashboardUID string
	// QueueSize bounds the annotations waiting to be sent (default 1,000).
	QueueSize int
	// Registerer takes the annotator's metrics; none are registered when nil.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Annotator sends annotations to Grafana from a bounded queue, one
// worker, so that whoever adds one never waits for Grafana: Add never
// blocks, and an annotation that cannot be queued or sent is dropped and
// counted.
type Annotator struct {
	cfg    AnnotatorConfig
	client *Client
	queue  chan Annotation
	done   chan struct{}
	// ctx is the worker's: Stop cancels it when draining runs out of time.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	stopped bool

	sent, failed prometheus.Counter
	dropped      *prometheus.CounterVec
	// queueFull and shutdown are dropped's series Add counts.
	queueFull, shutdown prometheus.Counter
}

// NewAnnotator starts an Annotator; Stop ends it.
func NewAnnotator(cfg AnnotatorConfig) (*Annotator, error) {
	if cfg.DashboardUID == "" {
		return nil, errors.New("invalid configuration: the uid of the dashboard to annotate is required")
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 1000
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Annotator{
		cfg:   cfg,
		queue: make(chan Annotation, cfg.QueueSize),
		done:  make(chan struct{}),
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAnnotationsSent,
			Help: "Decision annotations Grafana accepted.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: MetricAnnotationsFailed,
			Help: "Attempts to send a decision annotation that failed (each retry counts).",
		}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: MetricAnnotationsDropped,
			Help: "Decision annotations given up, by reason: queue_full, unavailable, rejected, shutdown.",
		}, []string{"reason"}),
	}
	for _, r := range []string{DropQueueFull, DropUnavailable, DropRejected, DropShutdown} {
		a.dropped.WithLabelValues(r)
	}
	a.queueFull, a.shutdown = a.dropped.WithLabelValues(DropQueueFull), a.dropped.WithLabelValues(DropShutdown)
	cfg.Grafana.attemptFailed = a.failed.Inc
	client, err := NewClient(cfg.Grafana)
	if err != nil {
		return nil, err
	}
	a.client = client
	if r := cfg.Registerer; r != nil {
		queued := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: MetricAnnotationsQueued,
			Help: "Decision annotations waiting to be sent to Grafana.",
		}, func() float64 { return float64(len(a.queue)) })
		for _, c := range []prometheus.Collector{a.sent, a.failed, a.dropped, queued} {
			if err := r.Register(c); err != nil {
				return nil, fmt.Errorf("register annotator metrics: %w", err)
			}
		}
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a, nil
}

// Add queues an annotation without waiting; it reports false when the
// annotation was dropped (queue full, or the annotator stopped).
func (a *Annotator) Add(an Annotation) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopped {
		a.shutdown.Inc()
		return false
	}
	select {
	case a.queue <- an:
		return true
	default:
		a.queueFull.Inc()
		return false
	}
}

// Stop sends what is queued until ctx ends, then drops the rest. It is
// safe to call more than once.
func (a *Annotator) Stop(ctx context.Context) {
	a.mu.Lock()
	if !a.stopped {
		a.stopped = true
		close(a.queue)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
	case <-ctx.Done():
		a.cancel()
		<-a.done
	}
	a.cancel()
}

func (a *Annotator) run() {
	defer close(a.done)
	for an := range a.queue {
		if a.ctx.Err() != nil {
			a.dropped.WithLabelValues(DropShutdown).Inc()
			continue
		}
		a.send(an)
	}
}

func (a *Annotator) send(an Annotation) {
	text := an.Text
	if text == "" {
		text = fmt.Sprintf("%s for %s %s at %s", an.Verdict, an.Service, an.PatchID, an.Stage)
	}
	err := a.client.annotate(a.ctx, &models.PostAnnotationsCmd{
		DashboardUID: a.cfg.DashboardUID,
		Time:         an.Time.UnixMilli(),
		TimeEnd:      an.Time.UnixMilli(),
		Tags:         an.Tags(),
		Text:         &text,
	})
	var gErr *Error
	switch {
	case err == nil:
		a.sent.Inc()
	case a.ctx.Err() != nil:
		a.dropped.WithLabelValues(DropShutdown).Inc()
	case errors.As(err, &gErr) && !gErr.Temporary():
		// The transport counts the failed attempts it retries; a refusal
		// is not retried.
		a.failed.Inc()
		a.dropped.WithLabelValues(DropRejected).Inc()
		a.cfg.Logger.Warn("grafana refused a decision annotation; dropped", "service", an.Service, "patch_id", an.PatchID, "stage", an.Stage, "err", err)
	default:
		a.dropped.WithLabelValues(DropUnavailable).Inc()
		a.cfg.Logger.Warn("grafana unavailable; decision annotation dropped", "service", an.Service, "patch_id", an.PatchID, "stage", an.Stage, "err", err)
	}
}
