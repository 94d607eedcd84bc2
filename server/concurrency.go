package server

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/internal/config"
	"github.com/patchgate/patchgate/internal/store"
)

// Slots is the store behind GET /v1/concurrency. store.Store implements it.
type Slots interface {
	ListSlots(ctx context.Context) ([]store.Slot, error)
}

// SlotView is one rollout in the concurrency line on the wire.
type SlotView struct {
	// Position is the place in line (1 is next); 0 for a rollout patching.
	Position  int        `json:"position,omitempty"`
	Service   string     `json:"service"`
	PatchID   string     `json:"patch_id"`
	Cluster   string     `json:"cluster,omitempty"`
	Hosts     int        `json:"hosts,omitempty"`
	QueuedAt  time.Time  `json:"queued_at"`
	LastAsk   time.Time  `json:"last_ask"`
	GrantedAt *time.Time `json:"granted_at,omitempty"`
}

// concurrencyView answers GET /v1/concurrency.
type concurrencyView struct {
	Limits   *config.Concurrency `json:"limits"`
	Patching []SlotView          `json:"patching"`
	Queue    []SlotView          `json:"queue"`
}

// handleConcurrency answers GET /v1/concurrency: the rollouts holding a
// slot under the concurrency limit and the line waiting for one, in the
// order they will be let through.
func (s *Server) handleConcurrency(c echo.Context) error {
	slots, err := s.slots.ListSlots(c.Request().Context())
	if err != nil {
		return fmt.Errorf("listing the concurrency line: %w", err)
	}
	// Positions count every rollout in line; a limited token sees its own.
	l := callerLimits(c.Request().Context())
	out := concurrencyView{Patching: []SlotView{}, Queue: []SlotView{}}
	if s.policy != nil {
		out.Limits = s.policy.Concurrency
	}
	slices.SortStableFunc(slots, func(a, b store.Slot) int {
		if c := a.GrantedAt.Compare(b.GrantedAt); !a.GrantedAt.IsZero() && !b.GrantedAt.IsZero() && c != 0 {
			return c
		}
		return cmp.Or(a.QueuedAt.Compare(b.QueuedAt), cmp.Compare(a.Service, b.Service))
	})
	queued := 0
	for _, sl := range slots {
		v := SlotView{Service: sl.Service, PatchID: sl.PatchID, Cluster: sl.Cluster, Hosts: sl.Hosts, QueuedAt: sl.QueuedAt, LastAsk: sl.LastAsk}
		if !sl.GrantedAt.IsZero() {
			g := sl.GrantedAt
			v.GrantedAt = &g
			if l.allows(sl.Service, sl.PatchID) {
				out.Patching = append(out.Patching, v)
			}
			continue
		}
		v.Position = queued + 1
		queued++
		if l.allows(sl.Service, sl.PatchID) {
			out.Queue = append(out.Queue, v)
		}
	}
	return c.JSON(http.StatusOK, out)
}
