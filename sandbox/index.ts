/**
 * The sandbox: an in-process emulator of the parts of X-Ray and CloudWatch the governor uses,
 * on a local port, for tests, the demo and `xray-governor sandbox`. Production code never
 * imports it; entry points wire it in.
 *
 * ```ts
 * const sandbox = await startSandbox({ ruleQuota: 25 });
 * const xray = sandbox.xrayClient();           // a real @aws-sdk/client-xray client pointed at it
 * await xray.send(new GetSamplingRulesCommand({}));
 * await sandbox.close();
 * ```
 */
import { CloudWatchClient, type CloudWatchClientConfig } from "@aws-sdk/client-cloudwatch";
import { XRayClient, type XRayClientConfig } from "@aws-sdk/client-xray";
import { DEFAULT_RULE_NAME, parseSnapshot, type Snapshot } from "../shared/domain/formats.ts";
import {
  type MetricSource,
  type MetricSourceInput,
  MetricSourceSchema,
  resolveMetricSource,
} from "../shared/domain/metric-sources.ts";
import { ruleDefinition, type SamplingRuleInput } from "../shared/domain/sampling-rule.ts";
import { MetricStore } from "./cloudwatch/metric-store.ts";
import { type CloudWatchPageSizes, cloudWatchOperations } from "./cloudwatch/operations.ts";
import { type FaultConfig, FaultInjector } from "./faults.ts";
import { type CallCounts, type SandboxHttpServer, startHttpServer } from "./http-server.ts";
import { ScenarioTraffic, type TrafficEndpoint } from "./traffic/scenario-traffic.ts";
import { TrafficSimulator } from "./traffic/traffic-simulator.ts";
import { VirtualClock } from "./virtual-clock.ts";
import { type RulePageSizes, ruleOperations } from "./xray/rule-operations.ts";
import {
  type SamplingPageSizes,
  samplingOperations,
  type TraceScanLedger,
} from "./xray/sampling-operations.ts";
import { SamplingRuleStore } from "./xray/sampling-rules.ts";
import { SamplingStatistics } from "./xray/sampling-statistics.ts";
import { TraceStore } from "./xray/trace-store.ts";

export type { FaultConfig, FaultSpec } from "./faults.ts";

/** A rule to start with: X-Ray's fields (Version, ResourceARN, Attributes default), optional tags. */
export type InitialRule = SamplingRuleInput;

export interface PageSizes extends RulePageSizes, SamplingPageSizes, CloudWatchPageSizes {}

/**
 * Where the sandbox publishes each endpoint's CloudWatch metrics unless told otherwise: a custom
 * (EMF-style) namespace with the endpoint's X-Ray fields as dimensions, so that every scenario
 * endpoint round-trips; endpoints without a service type or host use the second form.
 */
export const SANDBOX_METRIC_SOURCES: MetricSourceInput[] = [
  {
    type: "custom",
    namespace: "XRayGovernor/Sandbox",
    metrics: { requests: "Requests", errors: "4xx", faults: "5xx" },
    service: "${Service}",
    serviceType: "${ServiceType}",
    host: "${Host}",
    method: "${Method}",
    path: "${Route}",
  },
  {
    type: "custom",
    namespace: "XRayGovernor/Sandbox",
    metrics: { requests: "Requests", errors: "4xx", faults: "5xx" },
    service: "${Service}",
    method: "${Method}",
    path: "${Route}",
  },
];

export interface SandboxOptions {
  /** Local port; 0 (the default) picks a free one. */
  port?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  region?: string;
  /**
   * Traffic to replay: snapshot@1 documents (e.g. a day and the next day), parsed or raw.
   * Without one, the sandbox serves the APIs with no simulated traffic.
   */
  scenario?: Snapshot | readonly Snapshot[] | unknown;
  /** Start the scenario again when it ends (for a long-running sandbox). Default false. */
  repeat?: boolean;
  /** Rules in the account at the start (a `Default` entry sets Default's rate and reservoir). Default: the scenario's rules. */
  rules?: readonly InitialRule[];
  /** Where endpoints' CloudWatch metrics are published. Default {@link SANDBOX_METRIC_SOURCES}. */
  metricSources?: readonly MetricSourceInput[];
  /** Seconds before a rule change reaches the simulated clients (X-Ray SDKs poll every 5 minutes). Default 0. */
  rulePropagationSeconds?: number;
  /** How long sampled traces are kept. Default 2 days. */
  traceRetentionSeconds?: number;
  /** How long 10-second statistic windows are kept. Default 1 hour. */
  statisticsRetentionSeconds?: number;
  /** Sampling rules per region, Default included. Default 25. */
  ruleQuota?: number;
  /** Faults per operation (changeable later through `sandbox.faults`). */
  faults?: FaultConfig;
  /** Seed of every random draw (faults, traffic). Default 1. */
  seed?: number;
  /** Virtual time at the start. Default: the scenario's start, or now. */
  start?: Date | string | number;
  /** Items per page of the list operations (small values make pagination easy to test). */
  pageSizes?: Partial<PageSizes>;
}

/** What SDK clients need to talk to the sandbox: endpoint, region and dummy credentials. */
export interface SandboxClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export interface Sandbox {
  /** `http://127.0.0.1:PORT`: both X-Ray and CloudWatch answer here. */
  endpoint: string;
  port: number;
  region: string;
  clock: VirtualClock;
  rules: SamplingRuleStore;
  statistics: SamplingStatistics;
  traces: TraceStore;
  metrics: MetricStore;
  faults: FaultInjector;
  /** Calls received per operation name. */
  calls: CallCounts;
  /** What GetTraceSummaries scanned (X-Ray bills per trace scanned). */
  traceScans: TraceScanLedger;
  /** The simulator replaying the scenario (undefined without a scenario). */
  traffic: TrafficSimulator | undefined;
  /** The scenario's endpoints (empty without a scenario). */
  endpoints: readonly TrafficEndpoint[];
  /** The metric sources the sandbox publishes under: put them in a config to collect from it. */
  metricSources: MetricSource[];
  /** Moves virtual time forward, simulating traffic when there is a scenario. */
  advance(seconds: number): void;
  /** Moves virtual time forward to `time`. */
  runUntil(time: Date | string | number): void;
  clientConfig: SandboxClientConfig;
  xrayClient(overrides?: XRayClientConfig): XRayClient;
  cloudWatchClient(overrides?: CloudWatchClientConfig): CloudWatchClient;
  close(): Promise<void>;
}

export const DEFAULT_PAGE_SIZES: PageSizes = {
  samplingRules: 100,
  tags: 50,
  statistics: 100,
  traceSummaries: 100,
  tracesScannedPerCall: 10_000,
  listMetrics: 500,
  metricDatapoints: 100_800,
};

export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const region = options.region ?? "us-east-1";
  const seed = options.seed ?? 1;
  const snapshots = scenarioSnapshots(options.scenario);
  const scenario = snapshots.length > 0 ? new ScenarioTraffic(snapshots, options.repeat ?? false) : undefined;
  const clock = new VirtualClock(options.start ?? scenario?.startMs ?? Date.now());
  const pageSizes: PageSizes = { ...DEFAULT_PAGE_SIZES, ...options.pageSizes };
  const rules = new SamplingRuleStore({ region, ruleQuota: options.ruleQuota ?? 25, clock });
  loadRules(rules, options.rules ?? snapshots[0]?.rules ?? []);
  const statistics = new SamplingStatistics((options.statisticsRetentionSeconds ?? 3600) * 1000);
  const traces = new TraceStore((options.traceRetentionSeconds ?? 2 * 86_400) * 1000);
  const metrics = new MetricStore();
  const metricSources = (options.metricSources ?? SANDBOX_METRIC_SOURCES).map((s, i) => {
    const parsed = MetricSourceSchema.safeParse(s);
    if (!parsed.success)
      throw new Error(`sandbox metricSources[${i}] is not a valid metric source: ${parsed.error.message}`);
    return parsed.data;
  });
  const faults = new FaultInjector(options.faults ?? {}, seed);
  const traceScans: TraceScanLedger = { calls: 0, tracesScanned: 0 };
  const traffic = scenario
    ? new TrafficSimulator({
        traffic: scenario,
        clock,
        rules,
        statistics,
        traces,
        metrics,
        metricSources: metricSources.map(resolveMetricSource),
        seed,
        rulePropagationSeconds: options.rulePropagationSeconds,
      })
    : undefined;
  const endpoints = scenario?.endpoints ?? [];

  const http: SandboxHttpServer = await startHttpServer({
    port: options.port ?? 0,
    host: options.host ?? "127.0.0.1",
    routes: {
      xray: {
        ...ruleOperations(rules, pageSizes),
        ...samplingOperations(
          { rules, statistics, traces, endpoints: () => endpoints, clock, pageSizes, seed },
          traceScans,
        ),
      },
      cloudwatch: cloudWatchOperations(metrics, clock, pageSizes),
    },
    faults,
  });
  const clientConfig: SandboxClientConfig = {
    endpoint: http.endpoint,
    region,
    credentials: { accessKeyId: "sandbox", secretAccessKey: "sandbox" },
  };
  const clients: { destroy(): void }[] = [];
  return {
    endpoint: http.endpoint,
    port: http.port,
    region,
    clock,
    rules,
    statistics,
    traces,
    metrics,
    faults,
    calls: http.calls,
    traceScans,
    traffic,
    endpoints,
    metricSources,
    clientConfig,
    advance(seconds) {
      if (traffic) traffic.advance(seconds);
      else clock.setTo(clock.now() + Math.round(seconds * 1000));
    },
    runUntil(time) {
      const target = new Date(time).getTime();
      if (traffic) traffic.runUntil(target);
      else if (target > clock.now()) clock.setTo(target);
    },
    xrayClient(overrides = {}) {
      const client = new XRayClient({ ...clientConfig, ...overrides });
      clients.push(client);
      return client;
    },
    cloudWatchClient(overrides = {}) {
      const client = new CloudWatchClient({ ...clientConfig, ...overrides });
      clients.push(client);
      return client;
    },
    async close() {
      traffic?.stopAutoAdvance();
      for (const client of clients) client.destroy();
      await http.close();
    },
  };
}

function scenarioSnapshots(scenario: SandboxOptions["scenario"]): Snapshot[] {
  if (scenario === undefined || scenario === null) return [];
  const list = Array.isArray(scenario) ? scenario : [scenario];
  return list.map((s) => parseSnapshot(s));
}

/** Puts the starting rules in the store, checked like a create (a bad rule fails the start). */
function loadRules(store: SamplingRuleStore, rules: readonly InitialRule[]): void {
  for (const rule of rules) {
    if (rule.RuleName === DEFAULT_RULE_NAME) {
      store.update(
        { RuleName: DEFAULT_RULE_NAME },
        { FixedRate: rule.FixedRate, ReservoirSize: rule.ReservoirSize },
      );
      if (rule.Tags?.length) store.tag(store.arnOf(DEFAULT_RULE_NAME), rule.Tags);
      continue;
    }
    store.create(ruleDefinition(rule), rule.Tags ?? []);
  }
}
