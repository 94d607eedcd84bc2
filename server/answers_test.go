package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/patchgate/patchgate/gate"
)

// Asks answered from the same look carry the same decision: the answer is
// encoded once and every ask gets the same bytes; a new decision (a new id)
// is never answered with an older one's body.
func TestRepeatedAsksGetTheSameAnswer(t *testing.T) {
	var look atomic.Int64
	g := gateFunc(func(_ context.Context, req gate.Request) (gate.Decision, error) {
		d := decisionFor(req, gate.Wait)
		n := look.Load()
		d.ID = fmt.Sprintf("dec-%d", n)
		d.Reason = fmt.Sprintf("look %d", n)
		return d, nil
	})
	s, _ := newTestServer(t, g)
	h := s.Handler()
	const body = `{"service":"checkout","patch_id":"p1","stage":"canary"}`

	first := do(t, h, "POST", "/v1/gate", ciToken, body)
	again := do(t, h, "POST", "/v1/gate", ciToken, body)
	if first.Code != 200 || again.Code != 200 {
		t.Fatalf("status %d, %d", first.Code, again.Code)
	}
	if !bytes.Equal(first.Body.Bytes(), again.Body.Bytes()) {
		t.Fatalf("two asks of one look got different answers:\n%s\n%s", first.Body, again.Body)
	}
	if ct := again.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if ra := again.Header().Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After %q on a repeated wait, want 30", ra)
	}
	var got gate.Decision
	if err := json.Unmarshal(again.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	want := decisionFor(gate.Request{Service: "checkout", PatchID: "p1", Stage: "canary"}, gate.Wait)
	want.ID, want.Reason = "dec-0", "look 0"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("answer %+v, want the gate's decision %+v", got, want)
	}

	look.Store(1)
	next := do(t, h, "POST", "/v1/gate", ciToken, body)
	if !strings.Contains(next.Body.String(), `"decision_id":"dec-1"`) || !strings.Contains(next.Body.String(), "look 1") {
		t.Fatalf("the next look's ask got %s", next.Body)
	}

	pretty := do(t, h, "POST", "/v1/gate?pretty", ciToken, body)
	if !strings.Contains(pretty.Body.String(), "\n  \"decision_id\": \"dec-1\"") {
		t.Errorf("?pretty answer is not indented: %s", pretty.Body)
	}
}

func TestAnswersAreBounded(t *testing.T) {
	a := newAnswers(3)
	for i := range 10 {
		if _, err := a.encode(gate.Decision{ID: fmt.Sprintf("d%d", i), Decision: gate.Go}); err != nil {
			t.Fatal(err)
		}
	}
	if len(a.byID) != 3 || len(a.order) != 3 {
		t.Fatalf("%d answers kept (%d in order), want 3", len(a.byID), len(a.order))
	}
	for _, id := range []string{"d7", "d8", "d9"} {
		if _, ok := a.byID[id]; !ok {
			t.Errorf("newest answer %s was dropped", id)
		}
	}
}
