package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/notify"
)

// newNotifier starts the webhooks of notify:, nil without any.
func newNotifier(cfg *config.Config, reg prometheus.Registerer, opt appOptions) (*notify.Notifier, error) {
	if len(cfg.Notify.Webhooks) == 0 {
		return nil, nil
	}
	hooks := make([]notify.Webhook, len(cfg.Notify.Webhooks))
	for i, w := range cfg.Notify.Webhooks {
		hooks[i] = notify.Webhook{Name: w.Name, URL: w.Resolved, Format: w.Format, On: w.On, Shadow: w.Shadow}
	}
	return notify.New(notify.Config{Webhooks: hooks, ExternalURL: cfg.UI.ExternalURL, Registerer: reg, Logger: opt.logger,
		Backoff: opt.notifyBackoff})
}

// notifyObserver is the gate observer that queues each new decision for
// the webhooks; it never waits for them.
func notifyObserver(n *notify.Notifier) func(gate.Decision) {
	return func(d gate.Decision) {
		n.Notify(notify.Decision{ID: d.ID, Time: d.EvaluatedAt, Service: d.Service, PatchID: d.PatchID, Stage: d.Stage,
			Answer: string(d.Decision), Verdict: string(d.Evaluated()), Shadow: d.Mode == gate.ModeShadow, Reason: notifyReason(d)})
	}
}

// notifyReason is the evaluated verdict's reason: in shadow mode the
// answer's reason says only that the stage is in shadow mode.
func notifyReason(d gate.Decision) string {
	if d.Shadow != nil && d.Shadow.Reason != "" {
		return d.Shadow.Reason
	}
	return d.Reason
}
