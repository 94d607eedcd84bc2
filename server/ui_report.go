package server

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/common/model"

	"github.com/patchgate/patchgate/report"
)

// handleCoverageReport answers GET /reports/coverage?format=html|csv|json&period=30d
// with the coverage report over the period ending now.
func (s *Server) handleCoverageReport(c echo.Context) error {
	format := c.QueryParam("format")
	if format == "" {
		format = "html"
	}
	if !slices.Contains(report.Formats, format) {
		return &APIError{Status: http.StatusUnprocessableEntity, Field: "format",
			Message: fmt.Sprintf("must be html, csv or json, got %q", format)}
	}
	period := report.DefaultPeriod
	if raw := c.QueryParam("period"); raw != "" {
		d, err := model.ParseDuration(raw)
		if err != nil {
			return &APIError{Status: http.StatusUnprocessableEntity, Field: "period",
				Message: fmt.Sprintf("must be a duration such as 30d or 12w, got %q", raw)}
		}
		if err := report.CheckPeriod(time.Duration(d)); err != nil {
			return &APIError{Status: http.StatusUnprocessableEntity, Field: "period", Message: err.Error()}
		}
		period = time.Duration(d)
	}
	if l := callerLimits(c.Request().Context()); l.limited() {
		return &APIError{Status: http.StatusForbidden, Message: fmt.Sprintf(
			"token %q is limited to some services or patches; the coverage report covers the whole fleet", l.token)}
	}
	if s.ui.Report == nil {
		return &APIError{Status: http.StatusServiceUnavailable, Message: "this server has no report source configured"}
	}
	r, err := s.ui.Report(c.Request().Context(), period)
	if err != nil {
		return fmt.Errorf("building the coverage report: %w", err)
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, r, format); err != nil {
		return fmt.Errorf("rendering the coverage report: %w", err)
	}
	h := c.Response().Header()
	pageHeaders(h)
	if format != "html" {
		name := fmt.Sprintf("patchgate-coverage-%s.%s", r.Period.End.Format("2006-01-02"), format)
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", name))
	}
	return c.Blob(http.StatusOK, report.ContentType(format), buf.Bytes())
}
