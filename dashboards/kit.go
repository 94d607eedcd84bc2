package dashboards

import (
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/annotationslist"
	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// The pieces every dashboard is built from: the data source variable, the
// service and cluster variables, panels with an explicit id and position,
// and PromQL targets. Queries filter with the variables as regular
// expressions (service=~"$service"), so "All" (.*) also matches series
// without the label.

// promDS is the Prometheus data source chosen by the datasource variable.
var promDS = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${datasource}")}

// grafanaDS is Grafana's own annotation store.
var grafanaDS = common.DataSourceRef{Type: ptr("grafana"), Uid: ptr("-- Grafana --")}

func ptr[T any](v T) *T { return &v }

// at is a panel's explicit grid position (24 columns wide).
func at(x, y, w, h uint32) dashboard.GridPos {
	return dashboard.GridPos{X: x, Y: y, W: w, H: h}
}

// query is one PromQL target: the expression and its legend.
type query struct {
	expr, legend string
}

func q(expr, legend string) query { return query{expr: expr, legend: legend} }

// targets builds the panel's PromQL targets, refIds A, B, ...
func targets(qs []query, instant, table bool) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], len(qs))
	for i, x := range qs {
		t := prometheus.NewDataqueryBuilder().
			Datasource(promDS).
			RefId(string(rune('A' + i))).
			Expr(x.expr)
		if x.legend != "" {
			t.LegendFormat(x.legend)
		}
		switch {
		case table:
			t.Instant().Format(prometheus.PromQueryFormatTable)
		case instant:
			t.Instant()
		default:
			t.Range()
		}
		out[i] = t
	}
	return out
}

// panel is what every panel states: a stable id, an explicit position,
// a title, a description and the unit of its values.
type panel struct {
	id          uint32
	pos         dashboard.GridPos
	title, desc string
	unit        string
}

// steps are threshold steps: the base color, then a color from each value up.
type steps []dashboard.Threshold

func base(color string) steps { return steps{{Color: color}} }

func (s steps) from(v float64, color string) steps {
	return append(s, dashboard.Threshold{Value: ptr(v), Color: color})
}

func (s steps) builder() *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().Mode(dashboard.ThresholdsModeAbsolute).Steps(s)
}

// statPanel shows the last value of each series with a sparkline of its
// trend over the dashboard's range.
func statPanel(p panel, th steps, qs ...query) *stat.PanelBuilder {
	b := stat.NewPanelBuilder().
		Id(p.id).GridPos(p.pos).Title(p.title).Description(p.desc).
		Datasource(promDS).Targets(targets(qs, false, false)).
		Unit(p.unit).
		GraphMode(common.BigValueGraphModeArea).
		ColorMode(common.BigValueColorModeValue).
		JustifyMode(common.BigValueJustifyModeAuto).
		TextMode(common.BigValueTextModeAuto).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}))
	if th == nil {
		th = base("blue")
	}
	return b.Thresholds(th.builder())
}

// instantStat shows one value per series for the dashboard's whole range
// (queries over [$__range]), without a sparkline.
func instantStat(p panel, th steps, qs ...query) *stat.PanelBuilder {
	return statPanel(p, th).Targets(targets(qs, true, false)).GraphMode(common.BigValueGraphModeNone)
}

// timeseriesPanel draws each query over time. Threshold steps, when given,
// are drawn as dashed lines: the targets the values are judged against.
func timeseriesPanel(p panel, th steps, qs ...query) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().
		Id(p.id).GridPos(p.pos).Title(p.title).Description(p.desc).
		Datasource(promDS).Targets(targets(qs, false, false)).
		Unit(p.unit).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true)).
		Tooltip(common.NewVizTooltipOptionsBuilder().
			Mode(common.TooltipDisplayModeMulti).
			Sort(common.SortOrderDescending)).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: ptr(false)})
	if th != nil {
		b.Thresholds(th.builder()).
			ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed))
	}
	return b
}

// barsPanel draws counts per interval as bars.
func barsPanel(p panel, qs ...query) *timeseries.PanelBuilder {
	return timeseriesPanel(p, nil, qs...).
		DrawStyle(common.GraphDrawStyleBars).
		FillOpacity(80).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal))
}

// tablePanel lists the series of an instant query, one row each, their
// labels as columns.
func tablePanel(p panel, th steps, qs ...query) *table.PanelBuilder {
	b := table.NewPanelBuilder().
		Id(p.id).GridPos(p.pos).Title(p.title).Description(p.desc).
		Datasource(promDS).Targets(targets(qs, true, true)).
		Unit(p.unit).
		WithTransformation(dashboard.DataTransformerConfig{
			Id:      "organize",
			Options: map[string]any{"excludeByName": map[string]any{"Time": true}},
		})
	if th != nil {
		b.Thresholds(th.builder()).
			CellOptions(common.TableCellOptions{TableColorTextCellOptions: &common.TableColorTextCellOptions{Type: "color-text"}})
	}
	return b
}

// annotationsPanel lists the annotations carrying all of tags, newest
// first, with their text: the gate's decisions and their reasons.
func annotationsPanel(p panel, tags []string, limit uint32) *annotationslist.PanelBuilder {
	return annotationslist.NewPanelBuilder().
		Id(p.id).GridPos(p.pos).Title(p.title).Description(p.desc).
		OnlyFromThisDashboard(false).
		OnlyInTimeRange(true).
		Tags(tags).
		Limit(limit).
		ShowUser(false).
		ShowTime(true).
		ShowTags(true).
		NavigateToPanel(false).
		NavigateBefore("10m").
		NavigateAfter("10m")
}

func row(id uint32, y uint32, title string) *dashboard.RowBuilder {
	return dashboard.NewRowBuilder(title).Id(id).GridPos(at(0, y, 24, 1))
}

// datasourceVariable picks the Prometheus data source every query uses.
func datasourceVariable() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder("datasource").
		Label("Data source").
		Type("prometheus")
}

// queryVariable offers the values of a label, several at once or all.
func queryVariable(name, label, definition string) *dashboard.QueryVariableBuilder {
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDS).
		Query(dashboard.StringOrMap{String: ptr(definition)}).
		Definition(definition).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr("All")}, Value: dashboard.StringOrArrayOfString{String: ptr("$__all")}})
}

// serviceVariable offers the services of the configuration.
func serviceVariable(services []string) *dashboard.CustomVariableBuilder {
	values := strings.Join(services, ",")
	return dashboard.NewCustomVariableBuilder("service").
		Label("Service").
		Values(dashboard.StringOrMap{String: ptr(values)}).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{Text: dashboard.StringOrArrayOfString{String: ptr("All")}, Value: dashboard.StringOrArrayOfString{String: ptr("$__all")}})
}

// constantVariable is a hidden variable with one value.
func constantVariable(name, value string) *dashboard.ConstantVariableBuilder {
	return dashboard.NewConstantVariableBuilder(name).Value(dashboard.StringOrMap{String: ptr(value)})
}

// builtInAnnotations is the annotation query every Grafana dashboard has:
// annotations made on this dashboard, and alerts.
func builtInAnnotations() *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().
		Name("Annotations & Alerts").
		Datasource(grafanaDS).
		Enable(true).
		Hide(true).
		IconColor("rgba(0, 211, 255, 1)").
		Type("dashboard").
		BuiltIn(1).
		Target(annotationTarget{Limit: 100, Tags: []string{}, Type: "dashboard"})
}

// decisionAnnotations shows the gate's decisions carrying all of tags.
func decisionAnnotations(name, color string, tags ...string) *dashboard.AnnotationQueryBuilder {
	return dashboard.NewAnnotationQueryBuilder().
		Name(name).
		Datasource(grafanaDS).
		Enable(true).
		Hide(false).
		IconColor(color).
		Target(annotationTarget{Limit: 100, Tags: tags, Type: "tags"})
}

// annotationTarget is the query of Grafana's own annotation store (the
// "-- Grafana --" data source), which the SDK has no type for.
type annotationTarget struct {
	Limit    int64    `json:"limit"`
	MatchAny bool     `json:"matchAny"`
	Tags     []string `json:"tags"`
	Type     string   `json:"type"`
}

func (annotationTarget) ImplementsDataqueryVariant() {}
func (annotationTarget) DataqueryType() string       { return "grafana" }
func (annotationTarget) Validate() error             { return nil }
func (t annotationTarget) Equals(other variants.Dataquery) bool {
	o, ok := other.(annotationTarget)
	return ok && t.Limit == o.Limit && t.MatchAny == o.MatchAny && t.Type == o.Type && strings.Join(t.Tags, "\x00") == strings.Join(o.Tags, "\x00")
}

// Build makes annotationTarget its own builder.
func (t annotationTarget) Build() (variants.Dataquery, error) { return t, nil }
