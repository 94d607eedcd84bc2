package dashboards

import (
	"fmt"

	"github.com/patchgate/patchgate/internal/lifecycle"
)

// Inputs of the debug dashboard that are not patchgate's own (Inputs).
const (
	metricPodRestarts = "kube_pod_container_status_restarts_total"
	metricPodLabels   = "kube_pod_labels"
	podServiceLabel   = "label_app_kubernetes_io_name"
	metricBootTime    = "node_boot_time_seconds"
	metricImagePull   = "patchgate_image_pull_duration_seconds"
	metricHeartbeat   = "patchgate_agent_heartbeat_timestamp_seconds"
)

// Input is a series the dashboards read that patchgate neither exports
// nor records, nor reads through the fleet input contract: what the debug
// dashboard needs from the cluster, the hosts and the patch agents.
// docs/metrics.md lists them ("Inputs read by dashboards").
type Input struct {
	Name, Type string
	Labels     []string
	// Producer is who exports it.
	Producer string
}

// Inputs are the debug dashboard's inputs. Every one carries a cluster
// label (target relabelling, or the external labels seen through Thanos
// or Mimir), as the fleet contract's series do.
func Inputs() []Input {
	return []Input{
		{metricPodRestarts, "counter", []string{"cluster", "namespace", "pod", "container"}, "kube-state-metrics"},
		{metricPodLabels, "gauge", []string{"cluster", "namespace", "pod", podServiceLabel},
			"kube-state-metrics with --metric-labels-allowlist=pods=[app.kubernetes.io/name]"},
		{metricBootTime, "gauge", []string{"cluster", "instance"}, "node_exporter"},
		{metricImagePull, "histogram", []string{"cluster", "service"},
			"the patch agents (or the node's container runtime through the agent): seconds to pull a patched image"},
		{metricHeartbeat, "gauge", []string{"cluster", "service", "host"},
			"the patch agents, through the fleet exporter that writes patchgate_fleet_assets: Unix time of each agent's last heartbeat"},
	}
}

// The gate's own metrics.
const (
	metricDecisionDuration = lifecycle.DecisionDuration
	metricQueryErrors      = lifecycle.QueryErrors
	metricQueryDuration    = lifecycle.QueryDuration
	metricHTTPRequests     = lifecycle.HTTPRequests
	metricAnnotationsSent  = MetricAnnotationsSent
	metricAnnotationsFail  = MetricAnnotationsFailed
	metricAnnotationsDrop  = MetricAnnotationsDropped
)

// silentAfter is how old an agent's last heartbeat may be before the agent
// counts as silent, in seconds.
const silentAfter = 300

func debug(services []string) *builder {
	b := newDashboard("now-6h", "1m").
		Description("Why is a rollout slow or stuck? Pod restarts and node reboots, image pulls, patch agents, and the gate's own latency and errors.").
		WithVariable(datasourceVariable()).
		WithVariable(queryVariable("cluster", "Cluster", fmt.Sprintf("label_values(%s, cluster)", metricBootTime))).
		WithVariable(serviceVariable(services))

	podsOfService := fmt.Sprintf("max by (cluster, namespace, pod, %s) (%s)",
		podServiceLabel, sel(metricPodLabels, byCluster, variable(podServiceLabel, "service")))
	restarts := fmt.Sprintf("sum by (cluster, %s) (increase(%s[$__rate_interval]) * on (cluster, namespace, pod) group_left (%s) %s)",
		podServiceLabel, sel(metricPodRestarts, byCluster), podServiceLabel, podsOfService)

	b.WithRow(row(100, 0, "Pods and nodes"))
	b.WithPanel(barsPanel(panel{id: 1, pos: at(0, 1, 12, 8), unit: "short",
		title: "Pod restarts by service",
		desc:  "Container restarts (kube-state-metrics), the pod's service from its app.kubernetes.io/name label."},
		q(restarts, "{{"+podServiceLabel+"}} {{cluster}}")))
	b.WithPanel(barsPanel(panel{id: 2, pos: at(12, 1, 6, 8), unit: "short",
		title: "Node reboots",
		desc:  "Changes of node_boot_time_seconds (node_exporter), by cluster."},
		q(fmt.Sprintf("sum by (cluster) (changes(%s[$__rate_interval]))", sel(metricBootTime, byCluster)), "{{cluster}}")))
	b.WithPanel(tablePanel(panel{id: 3, pos: at(18, 1, 6, 8), unit: "dateTimeAsIso",
		title: "Nodes rebooted in the time range",
		desc:  "Each node whose boot time falls in the time range, with that time."},
		nil,
		q(fmt.Sprintf("1000 * (%s > time() - $__range_s)", sel(metricBootTime, byCluster)), "")))

	b.WithRow(row(101, 9, "Patch agents"))
	b.WithPanel(timeseriesPanel(panel{id: 4, pos: at(0, 10, 12, 8), unit: "s",
		title: "Image pull latency",
		desc:  "Time to pull a patched image, p50 and p95 by cluster (patchgate_image_pull_duration_seconds, from the patch agents). Rising with concurrency: the registry is overloaded."},
		nil,
		q(fmt.Sprintf("histogram_quantile(0.95, sum by (cluster, le) (rate(%s[$__rate_interval])))", sel(metricImagePull+"_bucket", byCluster, byService)), "p95 {{cluster}}"),
		q(fmt.Sprintf("histogram_quantile(0.5, sum by (cluster, le) (rate(%s[$__rate_interval])))", sel(metricImagePull+"_bucket", byCluster, byService)), "p50 {{cluster}}")))
	b.WithPanel(statPanel(panel{id: 5, pos: at(12, 10, 4, 8), unit: "short",
		title: "Silent agents",
		desc:  fmt.Sprintf("Patch agents whose last heartbeat is older than %d seconds, by cluster.", silentAfter)},
		base("green").from(1, "red"),
		q(fmt.Sprintf("sum by (cluster) ((time() - %s) > bool %d)", sel(metricHeartbeat, byCluster, byService), silentAfter), "{{cluster}}")))
	b.WithPanel(timeseriesPanel(panel{id: 6, pos: at(16, 10, 8, 8), unit: "s",
		title: "Oldest agent heartbeat",
		desc:  fmt.Sprintf("Age of the oldest last heartbeat, by cluster. Dashed: %d seconds.", silentAfter)},
		base("transparent").from(silentAfter, "red"),
		q(fmt.Sprintf("max by (cluster) (time() - %s)", sel(metricHeartbeat, byCluster, byService)), "{{cluster}}")))

	b.WithRow(row(102, 18, "The gate"))
	b.WithPanel(timeseriesPanel(panel{id: 7, pos: at(0, 19, 8, 8), unit: "s",
		title: "Gate evaluation latency",
		desc:  "Time to evaluate a decision (all its queries), p50 and p99 by verdict."},
		nil,
		q(fmt.Sprintf("histogram_quantile(0.99, sum by (decision, le) (rate(%s[$__rate_interval])))", sel(metricDecisionDuration+"_bucket")), "p99 {{decision}}"),
		q(fmt.Sprintf("histogram_quantile(0.5, sum by (decision, le) (rate(%s[$__rate_interval])))", sel(metricDecisionDuration+"_bucket")), "p50 {{decision}}")))
	b.WithPanel(timeseriesPanel(panel{id: 8, pos: at(8, 19, 8, 8), unit: "reqps",
		title: "Prometheus query errors",
		desc:  "Failed queries of the gate's metric source by kind (timeout, unavailable, bad data...). Each one is a wait or no_go, never a go."},
		nil,
		q(fmt.Sprintf("sum by (kind) (rate(%s[$__rate_interval]))", sel(metricQueryErrors)), "{{kind}}")))
	b.WithPanel(timeseriesPanel(panel{id: 9, pos: at(16, 19, 8, 8), unit: "s",
		title: "Prometheus query latency",
		desc:  "p99 by kind of query."},
		nil,
		q(fmt.Sprintf("histogram_quantile(0.99, sum by (kind, le) (rate(%s[$__rate_interval])))", sel(metricQueryDuration+"_bucket")), "p99 {{kind}}")))
	b.WithPanel(timeseriesPanel(panel{id: 10, pos: at(0, 27, 12, 8), unit: "reqps",
		title: "API requests by handler and code"},
		nil,
		q(fmt.Sprintf("sum by (handler, code) (rate(%s[$__rate_interval]))", sel(metricHTTPRequests)), "{{handler}} {{code}}")))
	b.WithPanel(timeseriesPanel(panel{id: 11, pos: at(12, 27, 12, 8), unit: "short",
		title: "Grafana annotations",
		desc:  "Decision annotations sent, failed attempts, and annotations dropped (queue full, Grafana unavailable, rejected, shutdown). Dropping never delays a decision."},
		nil,
		q(fmt.Sprintf("sum(increase(%s[$__rate_interval]))", sel(metricAnnotationsSent)), "sent"),
		q(fmt.Sprintf("sum(increase(%s[$__rate_interval]))", sel(metricAnnotationsFail)), "failed attempts"),
		q(fmt.Sprintf("sum by (reason) (increase(%s[$__rate_interval]))", sel(metricAnnotationsDrop)), "dropped: {{reason}}")))
	return b
}
