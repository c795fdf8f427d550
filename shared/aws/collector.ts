/**
 * Collect: a snapshot@1 of the account, read with the real SDK v3 clients.
 *
 * - X-Ray: every sampling rule with its tags, and the per-rule sampling statistics;
 * - CloudWatch: the configured metric sources' endpoints (ListMetrics), and their requests,
 *   4xx and 5xx per period (GetMetricData, up to 500 queries a call, so N endpoints with three
 *   metrics each cost ⌈3N/500⌉ calls, plus a page where a call holds more than 100,800
 *   datapoints);
 * - X-Ray error traces (GetTraceSummaries on `fault OR error`) over the recent part of the
 *   window, de-biased by the sampling probability in force; they fill 4xx/5xx series a source
 *   has no metric for. Trace scans are billed, so the scan stops at `maxTracesScanned`.
 *
 * It reports the calls it made per operation and what they cost.
 */
import {
  type CloudWatchClient,
  GetMetricDataCommand,
  type MetricDataQuery,
  type MetricDataResult,
  paginateListMetrics,
} from "@aws-sdk/client-cloudwatch";
import { GetTraceSummariesCommand, type TraceSummary, type XRayClient } from "@aws-sdk/client-xray";
import {
  type EndpointErrorEstimate,
  type ErrorTraceObservation,
  estimateErrors,
} from "../domain/error-estimates.ts";
import {
  type Config,
  parseSnapshot,
  type SamplingRule,
  SNAPSHOT_FORMAT,
  type Snapshot,
} from "../domain/formats.ts";
import {
  assembleEndpoints,
  type EndpointFields,
  type EndpointMetrics,
  endpointIdentity,
  endpointOfMetric,
  type MetricDimension,
  type ResolvedMetricSource,
  resolveMetricSource,
} from "../domain/metric-sources.ts";
import type { StatisticWindow } from "../domain/month-to-date.ts";
import { readAccountRules } from "./sampling-rules.ts";
import { readStatisticWindows } from "./sampling-statistics.ts";

/** GetMetricData takes at most this many queries per call. */
export const METRIC_QUERIES_PER_CALL = 500;
/** The filter the error summaries are read with. */
export const ERROR_TRACE_FILTER = "fault OR error";

/** Prices the collector reports its cost with (xray-facts.md; free tiers not subtracted). */
export const COLLECTION_PRICES = {
  /** CloudWatch GetMetricData, per metric requested. */
  metricRequestedUsd: 0.01 / 1000,
  /** X-Ray traces retrieved or scanned, per trace. */
  traceScannedUsd: 0.5 / 1_000_000,
};

export interface CollectorClients {
  xray: XRayClient;
  cloudWatch: CloudWatchClient;
}

export interface CollectOptions {
  config: Pick<Config, "metricSources" | "collection">;
  /** When the snapshot is taken; the window ends at the last whole period before it. */
  now: Date;
  region: string;
}

export interface CollectionUsage {
  /** API calls per operation (each page is a call; SDK retries are not counted again). */
  calls: Record<string, number>;
  metricsRequested: number;
  tracesScanned: number;
  costUsd: { metricData: number; traceScans: number; total: number };
}

export interface ErrorTraceSummary {
  /** Error traces read (only sampled traces exist). */
  traces: number;
  tracesScanned: number;
  /** The scan stopped at `maxTracesScanned` before reading every error trace. */
  truncated: boolean;
  /** Over [from, to) only. */
  from: string;
  to: string;
  unattributed: number;
  byEndpoint: (Omit<EndpointErrorEstimate, "errors" | "faults" | "endpoint"> & { endpoint: string })[];
}

export interface Collection {
  snapshot: Snapshot;
  /** Sampling statistic windows, for the month-to-date total. */
  statistics: StatisticWindow[];
  errorTraces: ErrorTraceSummary;
  usage: CollectionUsage;
  warnings: string[];
}

export async function collectSnapshot(
  clients: CollectorClients,
  options: CollectOptions,
): Promise<Collection> {
  const { collection } = options.config;
  const periodMs = collection.periodSeconds * 1000;
  const periods = Math.max(1, Math.floor(collection.windowSeconds / collection.periodSeconds));
  const endMs = Math.floor(options.now.getTime() / periodMs) * periodMs;
  const startMs = endMs - periods * periodMs;
  const warnings: string[] = [];
  const counter = new CallCounter();
  const detach = [counter.attach(clients.xray), counter.attach(clients.cloudWatch)];
  try {
    const rules = await readAccountRules(clients.xray);
    const statistics = await readStatisticWindows(clients.xray);

    const sources = options.config.metricSources.map(resolveMetricSource);
    const discovered = await discoverEndpoints(clients.cloudWatch, sources);
    if (discovered.length === 0) {
      warnings.push(
        `no endpoint metrics found in ${[...new Set(sources.map((s) => s.namespace))].join(", ")}: check metricSources (REST APIs need detailed metrics enabled)`,
      );
    }
    const metricSets = await readMetrics(
      clients.cloudWatch,
      discovered,
      startMs,
      endMs,
      collection.periodSeconds,
    );

    const traceFrom = Math.max(startMs, endMs - collection.traceLookbackSeconds * 1000);
    const traces = await readErrorTraces(clients.xray, traceFrom, endMs, collection.maxTracesScanned);
    if (traces.truncated) {
      warnings.push(
        `error traces: stopped after scanning ${traces.scanned} traces (collection.maxTracesScanned ${collection.maxTracesScanned}); error estimates are partial`,
      );
    }
    const recentlyChanged = rules.filter((r) => r.ModifiedAt && Date.parse(r.ModifiedAt) > traceFrom);
    if (recentlyChanged.length > 0 && traces.observations.length > 0) {
      warnings.push(
        `rules changed during the error-trace window (${recentlyChanged.map((r) => r.RuleName).join(", ")}): error estimates use the rules in force now`,
      );
    }

    const provisional = assembleEndpoints(metricSets, periods);
    const window = { start: new Date(startMs).toISOString(), periodSeconds: collection.periodSeconds };
    const estimates = estimateErrors(
      { ...window, endpoints: provisional.endpoints },
      rules,
      traces.observations,
    );
    const estimateByKey = new Map(
      estimates.byEndpoint.map((e) => [endpointIdentity(provisional.endpoints[e.endpoint]), e]),
    );
    const { endpoints } = assembleEndpoints(metricSets, periods, (key) => estimateByKey.get(key));

    const snapshot = parseSnapshot({
      format: SNAPSHOT_FORMAT,
      capturedAt: options.now.toISOString(),
      region: options.region,
      start: window.start,
      periodSeconds: collection.periodSeconds,
      endpoints,
      rules: rules.map(withoutUndefined),
    });
    const usage = counter.usage();
    return {
      snapshot,
      statistics,
      errorTraces: {
        traces: traces.observations.length,
        tracesScanned: traces.scanned,
        truncated: traces.truncated,
        from: new Date(traceFrom).toISOString(),
        to: new Date(endMs).toISOString(),
        unattributed: estimates.unattributed,
        byEndpoint: estimates.byEndpoint.map(({ errors: _e, faults: _f, endpoint, ...rest }) => ({
          endpoint: endpointIdentity(provisional.endpoints[endpoint]),
          ...rest,
        })),
      },
      usage,
      warnings,
    };
  } finally {
    for (const d of detach) d();
  }
}

// ---------------------------------------------------------------------------------------------
// CloudWatch

interface DiscoveredMetric {
  source: ResolvedMetricSource;
  fields: EndpointFields;
  dimensions: MetricDimension[];
}

async function discoverEndpoints(
  cloudWatch: CloudWatchClient,
  sources: readonly ResolvedMetricSource[],
): Promise<DiscoveredMetric[]> {
  const found: DiscoveredMetric[] = [];
  const seen = new Set<string>();
  for (const source of sources) {
    const pages = paginateListMetrics(
      { client: cloudWatch },
      {
        Namespace: source.namespace,
        MetricName: source.metrics.requests,
        Dimensions: source.dimensionNames.map((Name) => ({ Name })),
      },
    );
    for await (const page of pages) {
      for (const metric of page.Metrics ?? []) {
        const dimensions = (metric.Dimensions ?? []).map((d) => ({
          Name: d.Name ?? "",
          Value: d.Value ?? "",
        }));
        const fields = endpointOfMetric(source, dimensions);
        if (!fields) continue;
        // Two sources can see the same metric (same namespace and dimension set): read it once.
        const key = `${source.namespace}|${dimensions
          .map((d) => `${d.Name}=${d.Value}`)
          .sort()
          .join(",")}`;
        if (seen.has(key)) continue;
        seen.add(key);
        found.push({ source, fields, dimensions });
      }
    }
  }
  return found;
}

async function readMetrics(
  cloudWatch: CloudWatchClient,
  discovered: readonly DiscoveredMetric[],
  startMs: number,
  endMs: number,
  periodSeconds: number,
): Promise<EndpointMetrics[]> {
  const periods = Math.round((endMs - startMs) / (periodSeconds * 1000));
  const sets: EndpointMetrics[] = discovered.map((d) => ({
    fields: d.fields,
    requests: new Float64Array(periods),
    ...(d.source.metrics.errors ? { errors: new Float64Array(periods) } : {}),
    ...(d.source.metrics.faults ? { faults: new Float64Array(periods) } : {}),
  }));
  const queries: { query: MetricDataQuery; target: Float64Array }[] = [];
  discovered.forEach((d, i) => {
    for (const kind of ["requests", "errors", "faults"] as const) {
      const metricName = d.source.metrics[kind];
      const target = sets[i][kind] as Float64Array | undefined;
      if (!metricName || !target) continue;
      queries.push({
        query: {
          Id: `m${queries.length}`,
          MetricStat: {
            Metric: { Namespace: d.source.namespace, MetricName: metricName, Dimensions: d.dimensions },
            Period: periodSeconds,
            Stat: "Sum",
          },
          ReturnData: true,
        },
        target,
      });
    }
  });
  for (let first = 0; first < queries.length; first += METRIC_QUERIES_PER_CALL) {
    const batch = queries.slice(first, first + METRIC_QUERIES_PER_CALL);
    const byId = new Map(batch.map((q) => [q.query.Id as string, q.target]));
    let nextToken: string | undefined;
    do {
      const output = await cloudWatch.send(
        new GetMetricDataCommand({
          MetricDataQueries: batch.map((q) => q.query),
          StartTime: new Date(startMs),
          EndTime: new Date(endMs),
          ScanBy: "TimestampAscending",
          NextToken: nextToken,
        }),
      );
      for (const result of output.MetricDataResults ?? [])
        addResult(result, byId, startMs, periodSeconds, periods);
      nextToken = output.NextToken;
    } while (nextToken);
  }
  return sets;
}

function addResult(
  result: MetricDataResult,
  byId: Map<string, Float64Array>,
  startMs: number,
  periodSeconds: number,
  periods: number,
): void {
  const target = byId.get(result.Id ?? "");
  if (!target) return;
  const timestamps = result.Timestamps ?? [];
  const values = result.Values ?? [];
  for (let i = 0; i < timestamps.length; i++) {
    const t = Math.floor((timestamps[i].getTime() - startMs) / (periodSeconds * 1000));
    if (t >= 0 && t < periods) target[t] += values[i] ?? 0;
  }
}

// ---------------------------------------------------------------------------------------------
// X-Ray error traces

async function readErrorTraces(
  xray: XRayClient,
  fromMs: number,
  toMs: number,
  maxTracesScanned: number,
): Promise<{ observations: ErrorTraceObservation[]; scanned: number; truncated: boolean }> {
  const observations: ErrorTraceObservation[] = [];
  let scanned = 0;
  if (maxTracesScanned <= 0 || toMs <= fromMs) return { observations, scanned, truncated: false };
  // X-Ray answers at most 24 hours per query.
  const day = 86_400_000;
  for (let start = fromMs; start < toMs; start += day) {
    let nextToken: string | undefined;
    do {
      if (scanned >= maxTracesScanned) return { observations, scanned, truncated: true };
      const output = await xray.send(
        new GetTraceSummariesCommand({
          StartTime: new Date(start),
          EndTime: new Date(Math.min(toMs, start + day)),
          TimeRangeType: "Event",
          FilterExpression: ERROR_TRACE_FILTER,
          NextToken: nextToken,
        }),
      );
      scanned += output.TracesProcessedCount ?? 0;
      for (const summary of output.TraceSummaries ?? []) {
        const observation = observationOf(summary);
        if (observation) observations.push(observation);
      }
      nextToken = output.NextToken;
    } while (nextToken);
  }
  return { observations, scanned, truncated: false };
}

function observationOf(summary: TraceSummary): ErrorTraceObservation | undefined {
  const service = summary.EntryPoint?.Name ?? summary.ServiceIds?.[0]?.Name;
  const url = summary.Http?.HttpURL;
  const method = summary.Http?.HttpMethod;
  if (!service || !url || !method || !summary.StartTime) return undefined;
  let urlPath: string;
  try {
    urlPath = new URL(url).pathname;
  } catch {
    urlPath = url.startsWith("/") ? url : `/${url}`;
  }
  return {
    service,
    method,
    urlPath,
    timeMs: summary.StartTime.getTime(),
    fault: summary.HasFault === true,
    error: summary.HasError === true,
  };
}

// ---------------------------------------------------------------------------------------------
// Calls and cost

/** Counts operations (not retries) on the clients with a middleware, and the billed units. */
class CallCounter {
  private readonly calls: Record<string, number> = {};
  private metricsRequested = 0;
  private tracesScanned = 0;
  private readonly name = `xray-governor-call-counter-${Math.random().toString(36).slice(2)}`;

  attach(client: XRayClient | CloudWatchClient): () => void {
    const stack = client.middlewareStack as unknown as {
      add(middleware: unknown, options: { step: string; name: string }): void;
      remove(name: string): boolean;
    };
    stack.add(
      (
        next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>,
        context: { commandName?: string },
      ) =>
        async (args: { input: Record<string, unknown> }) => {
          const operation = (context.commandName ?? "Unknown").replace(/Command$/, "");
          this.calls[operation] = (this.calls[operation] ?? 0) + 1;
          if (operation === "GetMetricData") {
            this.metricsRequested += (args.input.MetricDataQueries as unknown[] | undefined)?.length ?? 0;
          }
          const result = await next(args);
          if (operation === "GetTraceSummaries") {
            this.tracesScanned += (result.output.TracesProcessedCount as number | undefined) ?? 0;
          }
          return result;
        },
      { step: "initialize", name: this.name },
    );
    return () => {
      stack.remove(this.name);
    };
  }

  usage(): CollectionUsage {
    const metricData = this.metricsRequested * COLLECTION_PRICES.metricRequestedUsd;
    const traceScans = this.tracesScanned * COLLECTION_PRICES.traceScannedUsd;
    return {
      calls: { ...this.calls },
      metricsRequested: this.metricsRequested,
      tracesScanned: this.tracesScanned,
      costUsd: { metricData, traceScans, total: metricData + traceScans },
    };
  }
}

/** Drops undefined fields (the snapshot is JSON). */
function withoutUndefined(rule: SamplingRule): SamplingRule {
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined)) as SamplingRule;
}
