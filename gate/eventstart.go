package gate

import (
	"context"
	"fmt"
	"time"

	"github.com/patchgate/patchgate/internal/store"
)

// eventStart returns the time of the stage_started event of the stage
// attempt, when the request gives no stage_started_at: the latest event
// for the service, patch and stage that names this attempt, else the
// latest that names none. Events after now do not count.
func (e *Engine) eventStart(ctx context.Context, k store.AttemptKey, now time.Time) (time.Time, bool, error) {
	es, err := e.cfg.Store.ListEvents(ctx, store.EventFilter{
		PatchID: k.PatchID, Service: k.Service, Stage: k.Stage, Type: store.EventStageStarted,
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("load stage_started events: %w", err)
	}
	var exact, unnamed time.Time
	for _, ev := range es { // oldest first
		if ev.Time.After(now) {
			continue
		}
		switch ev.Attempt {
		case k.Attempt:
			exact = ev.Time
		case "":
			unnamed = ev.Time
		}
	}
	switch {
	case !exact.IsZero():
		return exact, true, nil
	case !unnamed.IsZero():
		return unnamed, true, nil
	}
	return time.Time{}, false, nil
}
