/**
 * The P2P connection monitoring dashboard, built with @grafana/grafana-foundation-sdk 0.0.21
 * (Grafana >= 12). The design's 16 panels in its four rows, plus a collapsed fifth row for the
 * resource, protocol and self-monitoring metrics. Metric names live in PromQL strings only; the
 * lint (test/lint.test.ts) checks every one against the schema.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import {
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  FieldColorBuilder,
  FieldColorModeId,
  MappingType,
  QueryVariableBuilder,
  RowBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  VariableRefresh,
  VariableSort,
  type Dashboard,
  type DataTransformerConfig,
  type Panel,
  type RowPanel,
  type Threshold,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as barchart from '@grafana/grafana-foundation-sdk/barchart';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as nodegraph from '@grafana/grafana-foundation-sdk/nodegraph';
import * as piechart from '@grafana/grafana-foundation-sdk/piechart';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';

export const DASHBOARD_UID = 'p2p-otel-connections';
export const DATASOURCE_VARIABLE = 'datasource';
const DS = { type: 'prometheus', uid: `\${${DATASOURCE_VARIABLE}}` };

/** Label matchers every query applies: the node(s), and the peer(s) for peer-labelled metrics. */
const I = 'instance=~"$instance"';
const P = 'instance=~"$instance", peer_id=~"$peer"';

/**
 * The design's panels ("Grafana Dashboard Panels") and the title each has here. Titles that differ
 * say more precisely what the panel shows (docs/dashboards.md explains each).
 */
export const DESIGN_PANELS = {
  'Connection Overview': {
    'Active Connections by State': 'Active Connections by State',
    'Connection Success Rate': 'Connection Success Rate',
    'Average Connection Duration': 'Connection Duration Histogram',
    'Connection Attempts per Minute': 'Connection Attempts per Minute',
  },
  'Performance Metrics': {
    'P2P Latency Heatmap': 'P2P Latency Heatmap (p95 RTT per peer)',
    'Bandwidth Usage per Peer': 'Bandwidth Usage per Peer',
    'Message Volume by Type': 'Message Volume by Type',
    'Top 10 Peers by Traffic': 'Top 10 Peers by Traffic',
  },
  'Error Analysis': {
    'Connection Errors by Type': 'Connection Errors by Type',
    'Circuit Breaker States': 'Circuit Breaker States',
    'Failed Connection Attempts': 'Failed Connection Attempts per Peer',
    'Error Rate by Peer': 'Error Rate by Peer',
  },
  'Network Topology': {
    'Peer Connectivity Graph': 'Peer Connectivity Graph',
    'Discovery Success Rate by Method': 'Discovery Success Rate by Method',
    'Cluster Diameter Over Time': 'Cluster Diameter Over Time',
    'Peer Churn Rate': 'Peer Churn Rate (per hour)',
  },
} as const;

/** Title of the collapsed row that shows metrics the design's panels do not. */
export const EXTRA_ROW = 'Resources, Protocol and Self-monitoring';

/**
 * Schema metrics deliberately left off the dashboard, with the reason. Every other schema metric
 * must appear in a panel query (checked by test/lint.test.ts).
 */
export const OFF_DASHBOARD: Readonly<Record<string, string>> = {
  p2p_connections_pooled: 'Pool size is shown through p2p_connection_pool_utilization_ratio; explore it ad hoc.',
  p2p_connections_idle: 'Folded into p2p_connection_pool_utilization_ratio.',
  p2p_circuit_breaker_failures_total: 'Circuit Breaker States and Connection Errors by Type show the same failures with more context.',
  p2p_ping_latency_milliseconds: 'A last-value gauge; the RTT histogram gives quantiles for the same round trips.',
  p2p_message_size_bytes: 'Capacity planning, not connection health; explore it ad hoc.',
  p2p_connection_pool_evictions_total: 'Pool tuning detail; explore it ad hoc.',
  p2p_connection_pool_wait_time_milliseconds: 'Pool tuning detail; explore it ad hoc.',
  p2p_connection_reuses_total: 'Pool tuning detail; explore it ad hoc.',
  p2p_buffered_messages_bytes: 'The message count (P2pMessageBufferHigh) is the signal; bytes follow it.',
  p2p_message_delivery_delay_milliseconds: 'Covered by the message latency p95, which includes buffering.',
  p2p_quic_streams: 'Per-peer stream counts are for debugging one connection; explore them ad hoc.',
  p2p_iroh_protocol_version: 'An info gauge (ALPN per peer) for rollouts, not a health signal; query it in Explore or a table.',
  p2p_resource_sync_duration_milliseconds: 'Application-level resource sync belongs on the application dashboard.',
  p2p_resource_transfers_active: 'Application-level resource sync belongs on the application dashboard.',
  p2p_resource_transfer_bytes_total: 'Application-level resource sync belongs on the application dashboard.',
  p2p_resource_sync_failures_total: 'Application-level resource sync belongs on the application dashboard.',
};

// ---------------------------------------------------------------------------------------------
// helpers

interface QueryOpts {
  legend?: string;
  instant?: boolean;
  format?: PromQueryFormat;
}

function prom(refId: string, expr: string, o: QueryOpts = {}): DataqueryBuilder {
  const q = new DataqueryBuilder().refId(refId).datasource(DS).expr(expr);
  if (o.legend !== undefined) q.legendFormat(o.legend);
  if (o.format !== undefined) q.format(o.format);
  if (o.instant) q.instant();
  else q.range();
  return q;
}

function thresholds(steps: [string, number | null][]): ThresholdsConfigBuilder {
  const s: Threshold[] = steps.map(([color, value]) => ({ color, value }));
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(s);
}

const GREEN_ONLY = (): ThresholdsConfigBuilder => thresholds([['green', null]]);

function legend(placement: common.LegendPlacement = common.LegendPlacement.Bottom, calcs: string[] = []): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(calcs.length > 0 ? common.LegendDisplayMode.Table : common.LegendDisplayMode.List)
    .placement(placement)
    .calcs(calcs);
}

const lastValue = (): common.ReduceDataOptionsBuilder => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

const organize = (options: { excludeByName?: Record<string, boolean>; renameByName?: Record<string, string>; indexByName?: Record<string, number> }): DataTransformerConfig => ({
  id: 'organize',
  options: { excludeByName: {}, renameByName: {}, indexByName: {}, ...options },
});

const sortBy = (field: string, desc = true): DataTransformerConfig => ({ id: 'sortBy', options: { sort: [{ field, desc }] } });

/** Places panels left to right on a 24-column grid, wrapping, below a row header. */
class Grid {
  private x = 0;
  private rowY = 0;
  private rowH = 0;
  y = 0;
  /** Starts a row: its header takes one grid unit. */
  row(): { x: number; y: number; w: number; h: number } {
    this.newLine();
    const pos = { x: 0, y: this.y, w: 24, h: 1 };
    this.y += 1;
    this.rowY = this.y;
    return pos;
  }
  place(w: number, h: number): { x: number; y: number; w: number; h: number } {
    if (this.x + w > 24) this.newLine();
    const pos = { x: this.x, y: this.y, w, h };
    this.x += w;
    this.rowH = Math.max(this.rowH, h);
    return pos;
  }
  private newLine(): void {
    this.y += this.rowH;
    this.x = 0;
    this.rowH = 0;
    void this.rowY;
  }
}

type PanelB = cog.Builder<Panel>;

// ---------------------------------------------------------------------------------------------
// rows

function connectionOverview(g: Grid): PanelB[] {
  const t = DESIGN_PANELS['Connection Overview'];
  return [
    new timeseries.PanelBuilder()
      .title(t['Active Connections by State'])
      .description('Connections in each live state (p2p_connections_active), stacked. Terminal states (disconnected, failed) are transitions, see Peer Churn Rate.')
      .gridPos(g.place(6, 8))
      .datasource(DS)
      .withTarget(prom('A', `sum by (state) (p2p_connections_active{${I}})`, { legend: '{{state}}' }))
      .unit('short')
      .decimals(0)
      .min(0)
      .fillOpacity(40)
      .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
      .thresholds(GREEN_ONLY())
      .legend(legend()),
    new gauge.PanelBuilder()
      .title(t['Connection Success Rate'])
      .description('Share of outbound connection attempts that succeeded over the selected time range (timeouts count as failures). P2pHighConnectionFailureRate fires below 50%.')
      .gridPos(g.place(6, 8))
      .datasource(DS)
      .withTarget(
        prom('A', `sum(increase(p2p_connection_attempts_total{${P}, result="success"}[$__range]))\n  /\nsum(increase(p2p_connection_attempts_total{${P}}[$__range]))`, {
          instant: true,
          legend: 'success rate',
        }),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .decimals(1)
      .thresholds(
        thresholds([
          ['red', null],
          ['orange', 0.5],
          ['green', 0.9],
        ]),
      )
      .reduceOptions(lastValue())
      .showThresholdMarkers(true),
    new bargauge.PanelBuilder()
      .title(t['Average Connection Duration'])
      .description(
        'How long closed connections lived (p2p_connection_duration_seconds), as the number of connections per duration bucket over the selected range. An average would hide the two populations that matter: connections that die within seconds and long-lived sessions.',
      )
      .gridPos(g.place(6, 8))
      .datasource(DS)
      .withTarget(
        prom('A', `sum by (le) (increase(p2p_connection_duration_seconds_bucket{${P}}[$__range]))`, {
          instant: true,
          format: PromQueryFormat.Heatmap,
          legend: '≤ {{le}} s',
        }),
      )
      .unit('short')
      .decimals(0)
      .min(0)
      .thresholds(GREEN_ONLY())
      .displayMode(common.BarGaugeDisplayMode.Gradient)
      .orientation(common.VizOrientation.Vertical)
      .reduceOptions(lastValue()),
    new timeseries.PanelBuilder()
      .title(t['Connection Attempts per Minute'])
      .description('Outbound connection attempts per minute, by result.')
      .gridPos(g.place(6, 8))
      .datasource(DS)
      .withTarget(prom('A', `sum by (result) (rate(p2p_connection_attempts_total{${P}}[$__rate_interval])) * 60`, { legend: '{{result}}' }))
      .unit('cpm')
      .min(0)
      .thresholds(GREEN_ONLY())
      .overrideByName('failed', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
      .overrideByName('timeout', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'orange' } }])
      .overrideByName('success', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }])
      .legend(legend()),
  ];
}

/** A heatmap with one row per peer (the query's series are rows, Grafana does not bucket them). */
function perPeerHeatmap(o: { title: string; description: string; place: ReturnType<Grid['place']>; expr: string; unit: string; decimals: number; scheme: string; steps: number }): PanelB {
  return new heatmap.PanelBuilder()
    .title(o.title)
    .description(o.description)
    .gridPos(o.place)
    .datasource(DS)
    .withTarget(prom('A', o.expr, { legend: '{{peer_id}}' }))
    .calculate(false)
    .rowsFrame(new heatmap.RowsHeatmapOptionsBuilder().layout(common.HeatmapCellLayout.Unknown))
    .yAxis(new heatmap.YAxisConfigBuilder().axisLabel('peer'))
    .cellValues(new heatmap.CellValuesBuilder().unit(o.unit).decimals(o.decimals))
    .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme(o.scheme).scale(heatmap.HeatmapColorScale.Exponential).exponent(0.5).steps(o.steps))
    .showValue(common.VisibilityMode.Never)
    .showLegend()
    .unit(o.unit);
}

function performance(g: Grid): PanelB[] {
  const t = DESIGN_PANELS['Performance Metrics'];
  return [
    perPeerHeatmap({
      title: t['P2P Latency Heatmap'],
      description: 'One row per peer, one column per time step; the colour is the p95 round-trip time over 5 minutes (recording rule p2p:peer_rtt_milliseconds:p95_5m).',
      place: g.place(12, 9),
      expr: `max by (peer_id) (p2p:peer_rtt_milliseconds:p95_5m{${P}})`,
      unit: 'ms',
      decimals: 1,
      scheme: 'Oranges',
      steps: 64,
    }),
    new timeseries.PanelBuilder()
      .title(t['Bandwidth Usage per Peer'])
      .description('Byte rate per peer (p2p_bandwidth_bytes_per_second, a 60 s moving average), stacked bars: received above the axis, sent below.')
      .gridPos(g.place(12, 9))
      .datasource(DS)
      .withTarget(prom('A', `sum by (peer_id) (p2p_bandwidth_bytes_per_second{${P}, direction="inbound"})`, { legend: '{{peer_id}} in' }))
      .withTarget(prom('B', `sum by (peer_id) (p2p_bandwidth_bytes_per_second{${P}, direction="outbound"})`, { legend: '{{peer_id}} out' }))
      .unit('Bps')
      .drawStyle(common.GraphDrawStyle.Bars)
      .fillOpacity(80)
      .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal))
      .overrideByQuery('B', [{ id: 'custom.transform', value: 'negative-Y' }])
      .thresholds(GREEN_ONLY())
      .legend(legend(common.LegendPlacement.Right, ['mean', 'max'])),
    new piechart.PanelBuilder()
      .title(t['Message Volume by Type'])
      .description('Messages sent and received over the selected range, by message type.')
      .gridPos(g.place(12, 9))
      .datasource(DS)
      .withTarget(prom('A', `sum by (message_type) (increase(p2p_messages_sent_total{${P}}[$__range]))`, { instant: true, legend: '{{message_type}} sent' }))
      .withTarget(prom('B', `sum by (message_type) (increase(p2p_messages_received_total{${P}}[$__range]))`, { instant: true, legend: '{{message_type}} received' }))
      .unit('short')
      .decimals(0)
      .pieType(piechart.PieChartType.Donut)
      .displayLabels([piechart.PieChartLabels.Name, piechart.PieChartLabels.Percent])
      .reduceOptions(lastValue())
      .legend(
        new piechart.PieChartLegendOptionsBuilder()
          .showLegend(true)
          .displayMode(common.LegendDisplayMode.Table)
          .placement(common.LegendPlacement.Right)
          .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent]),
      )
      .thresholds(GREEN_ONLY()),
    new table.PanelBuilder()
      .title(t['Top 10 Peers by Traffic'])
      .description('Bytes sent plus received over the selected range; a peer that only sent or only received is still ranked.')
      .gridPos(g.place(12, 9))
      .datasource(DS)
      .withTarget(
        prom(
          'A',
          'topk(10, sum by (peer_id) (\n' +
            `  label_replace(increase(p2p_bytes_sent_total{${P}}[$__range]), "direction", "sent", "", "")\n` +
            '  or\n' +
            `  label_replace(increase(p2p_bytes_received_total{${P}}[$__range]), "direction", "received", "", "")\n` +
            '))',
          { instant: true, format: PromQueryFormat.Table },
        ),
      )
      .withTransformation(organize({ excludeByName: { Time: true }, renameByName: { peer_id: 'Peer', Value: 'Traffic' } }))
      .withTransformation(sortBy('Traffic'))
      .unit('bytes')
      .thresholds(GREEN_ONLY())
      .cellHeight(common.TableCellHeight.Sm),
  ];
}

function errors(g: Grid): PanelB[] {
  const t = DESIGN_PANELS['Error Analysis'];
  return [
    new timeseries.PanelBuilder()
      .title(t['Connection Errors by Type'])
      .description('Connection errors per second by error_type (timeout, refused, reset, tls, dns, other).')
      .gridPos(g.place(12, 8))
      .datasource(DS)
      .withTarget(prom('A', `sum by (error_type) (rate(p2p_connection_errors_total{${P}}[$__rate_interval]))`, { legend: '{{error_type}}' }))
      .unit('cps')
      .min(0)
      .thresholds(GREEN_ONLY())
      .legend(legend(common.LegendPlacement.Bottom, ['mean', 'max'])),
    new statetimeline.PanelBuilder()
      .title(t['Circuit Breaker States'])
      .description('Circuit breaker state per node and peer. P2pCircuitBreakerOpen fires after 2 minutes not closed.')
      .gridPos(g.place(12, 8))
      .datasource(DS)
      .withTarget(
        prom(
          'A',
          'max by (instance, peer_id) (\n' +
            `  (p2p_circuit_breaker_state{${P}, state="open"} == 1) * 2\n` +
            `  or (p2p_circuit_breaker_state{${P}, state="half_open"} == 1)\n` +
            `  or (p2p_circuit_breaker_state{${P}, state="closed"} == 1) * 0\n` +
            ')',
          { legend: '{{instance}} → {{peer_id}}' },
        ),
      )
      .mappings([
        {
          type: MappingType.ValueToText,
          options: {
            '0': { text: 'closed', color: 'green', index: 0 },
            '1': { text: 'half_open', color: 'yellow', index: 1 },
            '2': { text: 'open', color: 'red', index: 2 },
          },
        },
      ])
      .unit('none')
      .thresholds(
        thresholds([
          ['green', null],
          ['yellow', 1],
          ['red', 2],
        ]),
      )
      .showValue(common.VisibilityMode.Never)
      .mergeValues(true)
      .rowHeight(0.8)
      .legend(legend()),
    perPeerHeatmap({
      title: t['Failed Connection Attempts'],
      description: 'Failed and timed-out outbound attempts per peer and time step: one row per peer.',
      place: g.place(12, 8),
      expr: `sum by (peer_id) (increase(p2p_connection_attempts_total{${P}, result!="success"}[$__rate_interval]))`,
      unit: 'short',
      decimals: 0,
      scheme: 'Reds',
      steps: 32,
    }),
    new barchart.PanelBuilder()
      .title(t['Error Rate by Peer'])
      .description('Connection errors per minute over the selected range, by peer, highest first.')
      .gridPos(g.place(12, 8))
      .datasource(DS)
      .withTarget(
        prom('A', `sort_desc(60 * sum by (peer_id) (rate(p2p_connection_errors_total{${P}}[$__range])))`, {
          instant: true,
          format: PromQueryFormat.Table,
        }),
      )
      .withTransformation(organize({ excludeByName: { Time: true }, renameByName: { Value: 'errors/min' } }))
      .withTransformation(sortBy('errors/min'))
      .xField('peer_id')
      .orientation(common.VizOrientation.Horizontal)
      .showValue(common.VisibilityMode.Auto)
      .unit('cpm')
      .min(0)
      .thresholds(
        thresholds([
          ['green', null],
          ['orange', 1],
          ['red', 10],
        ]),
      )
      .colorScheme(new FieldColorBuilder().mode(FieldColorModeId.Thresholds))
      .legend(legend().showLegend(false)),
  ];
}

function topology(g: Grid): PanelB[] {
  const t = DESIGN_PANELS['Network Topology'];
  return [
    new nodegraph.PanelBuilder()
      .title(t['Peer Connectivity Graph'])
      .description('Nodes: the monitored nodes (instance) and their peers, with the mean connectivity score as main stat. Edges: node → peer, main stat = overlay hops (1 direct, 2 relayed).')
      .gridPos(g.place(12, 10))
      .datasource(DS)
      .withTarget(
        prom(
          'A',
          `label_replace(avg by (peer_id) (p2p_peer_connectivity_score{${P}}), "id", "$1", "peer_id", "(.+)")\n` +
            'or\n' +
            `label_replace(avg by (instance) (p2p_peer_connectivity_score{${I}}), "id", "$1", "instance", "(.+)")`,
          { instant: true, format: PromQueryFormat.Table },
        ),
      )
      .withTarget(
        prom(
          'B',
          'label_join(\n' +
            '  label_replace(\n' +
            `    label_replace(max by (instance, peer_id) (p2p_peer_distance_hops{${P}}), "source", "$1", "instance", "(.+)"),\n` +
            '    "target", "$1", "peer_id", "(.+)"),\n' +
            '  "id", "->", "instance", "peer_id")',
          { instant: true, format: PromQueryFormat.Table },
        ),
      )
      .withTransformation(
        organize({
          excludeByName: { Time: true, instance: true, peer_id: true },
          renameByName: { 'Value #A': 'mainstat', 'Value #B': 'mainstat' },
        }),
      )
      .nodes(new nodegraph.NodeOptionsBuilder().mainStatUnit('percentunit'))
      .edges(new nodegraph.EdgeOptionsBuilder().mainStatUnit('none'))
      .zoomMode(nodegraph.ZoomMode.Cooperative),
    new gauge.PanelBuilder()
      .title(t['Discovery Success Rate by Method'])
      .description(
        'Share of discovery lookups that did not fail over the selected range, one gauge per discovery_method. Lookups are counted by p2p_discovery_duration_milliseconds_count, failures by p2p_discovery_failures_total.',
      )
      .gridPos(g.place(12, 10))
      .datasource(DS)
      .withTarget(
        prom(
          'A',
          'clamp_min(1 - (\n' +
            `  (sum by (discovery_method) (increase(p2p_discovery_failures_total{${I}}[$__range]))\n` +
            `    or sum by (discovery_method) (increase(p2p_discovery_duration_milliseconds_count{${I}}[$__range])) * 0)\n` +
            '  /\n' +
            `  (sum by (discovery_method) (increase(p2p_discovery_duration_milliseconds_count{${I}}[$__range])) > 0)\n` +
            '), 0)',
          { instant: true, legend: '{{discovery_method}}' },
        ),
      )
      .unit('percentunit')
      .min(0)
      .max(1)
      .decimals(1)
      .thresholds(
        thresholds([
          ['red', null],
          ['orange', 0.8],
          ['green', 0.95],
        ]),
      )
      .reduceOptions(lastValue())
      .showThresholdMarkers(true),
    new timeseries.PanelBuilder()
      .title(t['Cluster Diameter Over Time'])
      .description('Longest shortest path, in overlay hops, of the peer graph each node knows.')
      .gridPos(g.place(12, 8))
      .datasource(DS)
      .withTarget(prom('A', `max by (instance) (p2p_cluster_diameter_hops{${I}})`, { legend: '{{instance}}' }))
      .unit('none')
      .decimals(0)
      .min(0)
      .thresholds(
        thresholds([
          ['green', null],
          ['orange', 3],
          ['red', 5],
        ]),
      )
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
      .lineInterpolation(common.LineInterpolation.StepAfter)
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title(t['Peer Churn Rate'])
      .description('Connections established (to connected) and lost (from connected) per hour, and peers discovered per hour. Losses are drawn below the axis.')
      .gridPos(g.place(12, 8))
      .datasource(DS)
      .withTarget(prom('A', `sum(rate(p2p_connection_state_transitions_total{${P}, to_state="connected"}[$__rate_interval])) * 3600`, { legend: 'connected' }))
      .withTarget(prom('B', `sum(rate(p2p_connection_state_transitions_total{${P}, from_state="connected"}[$__rate_interval])) * 3600`, { legend: 'lost' }))
      .withTarget(prom('C', `sum(rate(p2p_discovered_peers_total{${I}}[$__rate_interval])) * 3600`, { legend: 'discovered' }))
      .unit('short')
      .axisLabel('per hour')
      .overrideByQuery('B', [
        { id: 'custom.transform', value: 'negative-Y' },
        { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
      ])
      .thresholds(GREEN_ONLY())
      .legend(legend()),
  ];
}

function extras(g: Grid): PanelB[] {
  return [
    new timeseries.PanelBuilder()
      .title('Buffered Messages per Peer')
      .description('Messages waiting in the send buffer (p2p_buffered_messages). P2pMessageBufferHigh fires above 1000 for 5 minutes.')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `max by (peer_id) (p2p_buffered_messages{${P}})`, { legend: '{{peer_id}}' }))
      .withTarget(prom('B', `sum by (peer_id) (rate(p2p_message_buffer_overflows_total{${P}}[$__rate_interval]))`, { legend: '{{peer_id}} overflows/s' }))
      .unit('short')
      .min(0)
      .thresholds(
        thresholds([
          ['green', null],
          ['red', 1000],
        ]),
      )
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed))
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title('Message and Handshake Latency (p95)')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `histogram_quantile(0.95, sum by (le) (rate(p2p_message_latency_milliseconds_bucket{${P}}[$__rate_interval])))`, { legend: 'message p95' }))
      .withTarget(prom('B', `histogram_quantile(0.95, sum by (le) (rate(p2p_handshake_duration_milliseconds_bucket{${P}}[$__rate_interval])))`, { legend: 'handshake p95' }))
      .withTarget(prom('C', `max(p2p:rtt_milliseconds:p95_5m{${I}})`, { legend: 'RTT p95 (5m)' }))
      .unit('ms')
      .min(0)
      .thresholds(
        thresholds([
          ['green', null],
          ['red', 100],
        ]),
      )
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title('Connection Pool Utilisation')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `p2p_connection_pool_utilization_ratio{${I}}`, { legend: '{{instance}}' }))
      .unit('percentunit')
      .min(0)
      .max(1)
      .thresholds(
        thresholds([
          ['green', null],
          ['orange', 0.8],
          ['red', 0.95],
        ]),
      )
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title('QUIC Packet Loss and Retransmissions')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `max by (peer_id) (p2p_quic_packet_loss_ratio{${P}})`, { legend: '{{peer_id}} loss' }))
      .withTarget(prom('B', `sum by (peer_id) (rate(p2p_quic_retransmissions_total{${P}}[$__rate_interval]))`, { legend: '{{peer_id}} retransmits/s' }))
      .unit('percentunit')
      .overrideByQuery('B', [
        { id: 'unit', value: 'pps' },
        { id: 'custom.axisPlacement', value: 'right' },
      ])
      .min(0)
      .thresholds(
        thresholds([
          ['green', null],
          ['orange', 0.01],
          ['red', 0.05],
        ]),
      )
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title('Known Peers')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `p2p_known_peers{${I}}`, { legend: '{{instance}}' }))
      .unit('short')
      .decimals(0)
      .min(0)
      .thresholds(GREEN_ONLY())
      .legend(legend()),
    new timeseries.PanelBuilder()
      .title('Monitor: Rejected Records')
      .description('Records the monitor dropped or coerced, by reason (p2p_monitor_rejected_records_total). P2pMonitorRejectingRecords fires when this keeps growing for 10 minutes.')
      .gridPos(g.place(8, 8))
      .datasource(DS)
      .withTarget(prom('A', `sum by (reason) (rate(p2p_monitor_rejected_records_total{${I}}[$__rate_interval]))`, { legend: '{{reason}}' }))
      .unit('cps')
      .min(0)
      .thresholds(GREEN_ONLY())
      .legend(legend()),
  ];
}

// ---------------------------------------------------------------------------------------------

export function buildDashboard(): Dashboard {
  const g = new Grid();
  const d = new DashboardBuilder('P2P Connection Monitoring')
    .uid(DASHBOARD_UID)
    .description('P2P connection health from @p2p-otel metrics: connections, performance, errors and topology. Generated by packages/dashboards/scripts/generate.ts; do not edit the JSON by hand.')
    .tags(['p2p', 'opentelemetry', 'iroh'])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .refresh('30s')
    .time({ from: 'now-1h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder(DATASOURCE_VARIABLE).label('Data source').type('prometheus'))
    .withVariable(
      new QueryVariableBuilder('instance')
        .label('Node')
        .description('Monitored nodes (Prometheus instance label).')
        .datasource(DS)
        .query('label_values(p2p_connections_active, instance)')
        .definition('label_values(p2p_connections_active, instance)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' }),
    )
    .withVariable(
      new QueryVariableBuilder('peer')
        .label('Peer')
        .description('Peers of the selected nodes (peer_id label).')
        .datasource(DS)
        .query('label_values(p2p_peer_distance_hops{instance=~"$instance"}, peer_id)')
        .definition('label_values(p2p_peer_distance_hops{instance=~"$instance"}, peer_id)')
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .sort(VariableSort.AlphabeticalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*')
        .current({ text: 'All', value: '$__all' }),
    );

  const rows: [string, (g: Grid) => PanelB[]][] = [
    ['Connection Overview', connectionOverview],
    ['Performance Metrics', performance],
    ['Error Analysis', errors],
    ['Network Topology', topology],
  ];
  for (const [title, make] of rows) {
    d.withRow(new RowBuilder(title).gridPos(g.row()));
    for (const p of make(g)) d.withPanel(p);
  }
  // Collapsed: its panels live inside the row and are laid out as if it were open.
  const extra = new RowBuilder(EXTRA_ROW).collapsed(true).gridPos(g.row());
  for (const p of extras(g)) extra.withPanel(p);
  d.withRow(extra);

  const built = d.build();
  // Stable panel ids, in layout order (rows included, nested panels after their row).
  let id = 1;
  for (const p of built.panels ?? []) {
    p.id = id++;
    for (const nested of (p as RowPanel).panels ?? []) nested.id = id++;
  }
  return built;
}

/** The dashboard as committed: 2-space JSON and a final newline. */
export function dashboardJson(): string {
  return `${JSON.stringify(buildDashboard(), null, 2)}\n`;
}
