package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/patchgate/patchgate/gate"
	"github.com/patchgate/patchgate/server"
)

// params collects repeated --param name=value flags.
type params map[string]string

func (p params) String() string { return fmt.Sprint(map[string]string(p)) }

func (p params) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want name=value, got %q", v)
	}
	p[k] = val
	return nil
}

func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) (int, error) {
	fs := newFlags("check", stderr)
	url := fs.String("server", os.Getenv("PATCHGATE_URL"), "patchgate URL (env PATCHGATE_URL)")
	token := fs.String("token", "", "bearer token (default: env PATCHGATE_TOKEN)")
	service := fs.String("service", "", "service")
	patch := fs.String("patch", "", "patch id")
	stage := fs.String("stage", "", "stage")
	wait := fs.Duration("wait", 0, "poll until go or no_go, for at most this long (0: ask once)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout of one ask")
	output := fs.String("output", "text", "text, or json: the final decision as JSON on stdout (same exit codes)")
	ps := params{}
	fs.Var(ps, "param", "request parameter name=value (repeatable), e.g. --param attempt=3")
	if err := parse(fs, args); err != nil {
		return exitError, err
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"--patch", *patch}, {"--server", *url}, {"--service", *service}, {"--stage", *stage}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return exitError, fmt.Errorf("missing %s", strings.Join(missing, ", "))
	}
	out, err := newCheckOutput(*output, stdout, stderr)
	if err != nil {
		return exitError, err
	}
	if *token == "" {
		*token = os.Getenv("PATCHGATE_TOKEN")
	}
	c := &server.Client{URL: *url, Token: *token, HTTP: &http.Client{Timeout: *timeout}}
	req := gate.Request{Service: *service, PatchID: *patch, Stage: *stage, Params: ps}
	deadline := time.Now().Add(*wait)
	for {
		d, err := c.Gate(ctx, req)
		var apiErr *server.APIError
		if errors.As(err, &apiErr) && apiErr.Status == http.StatusServiceUnavailable && apiErr.RetryAfterSeconds > 0 && *wait > 0 {
			// The gate could not decide for now (its store failed): with
			// --wait, ask again as told, within the same deadline.
			pause := time.Duration(apiErr.RetryAfterSeconds) * time.Second
			if time.Now().Add(pause).Before(deadline) {
				out.note("%s; asking again in %s", apiErr.Message, pause)
				select {
				case <-ctx.Done():
					return exitError, ctx.Err()
				case <-time.After(pause):
				}
				continue
			}
		}
		if err != nil {
			out.failure(err)
			if apiErr != nil {
				return exitError, fmt.Errorf("the gate refused the request: %w", err)
			}
			return exitError, err
		}
		pause := time.Duration(max(d.RetryAfterSeconds, 1)) * time.Second
		giveUp := *wait > 0 && time.Now().Add(pause).After(deadline)
		if err := out.decision(d, d.Decision != gate.Wait || *wait <= 0 || giveUp); err != nil {
			return exitError, err
		}
		switch d.Decision {
		case gate.Go:
			return exitOK, nil
		case gate.NoGo:
			return exitNoGo, nil
		case gate.Wait:
		default:
			return exitError, fmt.Errorf("unknown decision %q", d.Decision)
		}
		if *wait <= 0 {
			return exitWait, nil
		}
		if giveUp {
			out.note("still wait after %s; giving up", *wait)
			return exitWait, nil
		}
		select {
		case <-ctx.Done():
			return exitError, ctx.Err()
		case <-time.After(pause):
		}
	}
}
