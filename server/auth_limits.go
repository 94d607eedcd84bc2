package server

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/patchgate/patchgate/internal/store"
)

// limits are what a token may name: its services and patch id prefixes
// (tokens[].services, tokens[].patch_prefixes). Empty lists limit nothing.
// Every endpoint that names a service or a patch checks them: asking the
// gate (also through Flagger and Spinnaker), posting events, overrides and
// freezes, deleting them, reading a decision; lists and pages leave out
// what the token may not see.
type limits struct {
	token    string
	services []string
	prefixes []string
}

type callerKey struct{}

// withCaller puts the authenticated token's name and limits in ctx.
func withCaller(ctx context.Context, t token) context.Context {
	return context.WithValue(ctx, callerKey{}, t)
}

func callerLimits(ctx context.Context) limits {
	t, _ := ctx.Value(callerKey{}).(token)
	return t.limits
}

// limited reports whether the token has any limit.
func (l limits) limited() bool { return len(l.services) > 0 || len(l.prefixes) > 0 }

// allows reports whether the token may see a row of service and patchID.
// A row without a service (a global freeze, an event of no service) or
// without a patch (an override of every patch) is beyond a token limited
// to services, or to patch prefixes.
func (l limits) allows(service, patchID string) bool {
	return l.check(service, patchID, true) == nil
}

// check answers 403 naming the limit when the token may not name service
// and patchID. With patch false, only the service is checked (a list of a
// service's rows).
func (l limits) check(service, patchID string, patch bool) error {
	if len(l.services) > 0 && !slices.Contains(l.services, service) {
		what := fmt.Sprintf("not %q", service)
		if service == "" {
			what = "name one of them in service (this names none, so it would reach every service)"
		}
		return &APIError{Status: http.StatusForbidden, Field: "service",
			Message: fmt.Sprintf("token %q is limited to services %s: %s", l.token, strings.Join(l.services, ", "), what)}
	}
	if patch {
		return l.checkPatch(patchID)
	}
	return nil
}

// checkPatch answers 403 when the token's patch prefixes do not allow
// patchID.
func (l limits) checkPatch(patchID string) error {
	if len(l.prefixes) > 0 && !slices.ContainsFunc(l.prefixes, func(p string) bool { return strings.HasPrefix(patchID, p) }) {
		what := fmt.Sprintf("not %q", patchID)
		if patchID == "" {
			what = "name a patch_id (this names none, so it would reach every patch)"
		}
		return &APIError{Status: http.StatusForbidden, Field: "patch_id",
			Message: fmt.Sprintf("token %q is limited to patch ids starting with %s: %s", l.token, strings.Join(l.prefixes, ", "), what)}
	}
	return nil
}

// checkService is check for a request that names a service but no patch
// (a list filtered by service); an empty service is left to filtering.
func (l limits) checkService(service string) error {
	if service == "" {
		return nil
	}
	return l.check(service, "", false)
}

// controlOf returns the service and patch an override or freeze applies
// to.
func controlOf(v any) (service, patchID string) {
	switch c := v.(type) {
	case store.Override:
		return c.Service, c.PatchID
	case store.Freeze:
		// A freeze stops every patch of its service.
		return c.Service, ""
	}
	return "", ""
}

// checkControl answers 403 when the token may not create or lift the
// override or freeze v.
func (l limits) checkControl(v any) error {
	service, patchID := controlOf(v)
	if _, ok := v.(store.Freeze); ok {
		if err := l.check(service, "", false); err != nil {
			return err
		}
		if len(l.prefixes) > 0 {
			return &APIError{Status: http.StatusForbidden, Field: "service",
				Message: fmt.Sprintf("token %q is limited to patch ids starting with %s: a freeze stops every patch of its service", l.token, strings.Join(l.prefixes, ", "))}
		}
		return nil
	}
	return l.check(service, patchID, true)
}

func controlID(v any) string {
	switch c := v.(type) {
	case store.Override:
		return c.ID
	case store.Freeze:
		return c.ID
	}
	return ""
}

// allowsControl: a token limited to patch prefixes sees a freeze of its
// services (it stops its patches too) but may not create or lift one.
func (l limits) allowsControl(v any) bool {
	service, patchID := controlOf(v)
	if _, ok := v.(store.Freeze); ok {
		// A freeze of every service stops the token's services too.
		return service == "" || l.check(service, "", false) == nil
	}
	return l.allows(service, patchID)
}

// filter keeps the items the token may see.
func filter[T any](l limits, items []T, allowed func(T) bool) []T {
	if !l.limited() {
		return items
	}
	out := items[:0:0]
	for _, it := range items {
		if allowed(it) {
			out = append(out, it)
		}
	}
	return out
}
