package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/patchgate/patchgate/gate"
)

// answerCacheSize bounds the encoded answers kept: one per stage attempt
// being asked about, the newest ones.
const answerCacheSize = 1024

// answers keeps the JSON of recent decisions by decision id. Asks answered
// from the same look get the same decision, with the same id (the engine
// records a decision once and returns it unchanged while the look holds),
// so its encoding is done once instead of on every ask: encoding a
// decision was half the handler's CPU time for such asks.
type answers struct {
	mu    sync.Mutex
	byID  map[string][]byte
	order []string // ids in insertion order, oldest first, for eviction
	size  int
}

func newAnswers(size int) *answers {
	return &answers{byID: make(map[string][]byte, size), size: size}
}

// encode returns d's JSON as echo's c.JSON writes it (with a trailing
// newline), from the cache when d's id was encoded before.
func (a *answers) encode(d gate.Decision) ([]byte, error) {
	if d.ID == "" {
		return encodeAnswer(d)
	}
	a.mu.Lock()
	b, ok := a.byID[d.ID]
	a.mu.Unlock()
	if ok {
		return b, nil
	}
	b, err := encodeAnswer(d)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.byID[d.ID]; !ok {
		if len(a.order) >= a.size {
			delete(a.byID, a.order[0])
			a.order = a.order[1:]
		}
		a.byID[d.ID] = b
		a.order = append(a.order, d.ID)
	}
	return b, nil
}

func encodeAnswer(d gate.Decision) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// writeDecision writes d as the 200 answer. ?pretty keeps echo's indented
// form, uncached.
func (s *Server) writeDecision(c echo.Context, d gate.Decision) error {
	if c.QueryParams().Has("pretty") {
		return c.JSON(http.StatusOK, d)
	}
	b, err := s.answers.encode(d)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}
