/**
 * The collector against the sandbox, through the real SDK clients: the snapshot it builds, the
 * error estimates from sampled traces, the bound on trace scans, and what it costs in calls.
 */
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";
import { generateScenario } from "../../sandbox/scenario-generator.ts";
import { type Collection, collectSnapshot, METRIC_QUERIES_PER_CALL } from "../../shared/aws/collector.ts";
import { type ConfigInput, parseConfig, parseSnapshot } from "../../shared/domain/formats.ts";
import type { MetricSourceInput } from "../../shared/domain/metric-sources.ts";
import { samplingProbability } from "../../shared/domain/sampling.ts";
import { ruleFor, SCENARIO_START, steadyScenario } from "../support/sandbox-scenarios.ts";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function sandboxWith(options: SandboxOptions): Promise<Sandbox> {
  const sandbox = await startSandbox(options);
  sandboxes.push(sandbox);
  return sandbox;
}

function collect(
  sandbox: Sandbox,
  config: Partial<ConfigInput>,
  options: { maxAttempts?: number } = {},
): Promise<Collection> {
  return collectSnapshot(
    { xray: sandbox.xrayClient(options), cloudWatch: sandbox.cloudWatchClient(options) },
    {
      config: parseConfig({ budget: { monthlyUsd: 50 }, ...config }),
      now: sandbox.clock.date(),
      region: sandbox.region,
    },
  );
}

const start = Date.parse(SCENARIO_START);

describe("collector", () => {
  it("builds a snapshot that round-trips through parseSnapshot and holds the scenario's traffic exactly", async () => {
    // Prepare: two hours of a generated scenario, with a hand-made rule in the account.
    const scenario = generateScenario({ seed: 11, endpoints: 40, periods: 24, unmanagedRules: 1 });
    const sandbox = await sandboxWith({ scenario: scenario.snapshot });
    sandbox.advance(24 * 300);

    // Act
    const collection = await collect(sandbox, {
      metricSources: sandbox.metricSources,
      collection: { windowSeconds: 24 * 300, periodSeconds: 300 },
    });

    // Assess
    const snapshot = collection.snapshot;
    expect(parseSnapshot(JSON.parse(JSON.stringify(snapshot)))).toEqual(snapshot);
    expect(snapshot.start).toBe(scenario.snapshot.start);
    expect(snapshot.endpoints).toHaveLength(40);
    const key = (e: { service: string; method: string; path: string }) =>
      `${e.service} ${e.method} ${e.path}`;
    const expected = new Map(scenario.snapshot.endpoints.map((e) => [key(e), e]));
    for (const e of snapshot.endpoints) {
      const truth = expected.get(key(e));
      expect({ requests: e.requests, errors: e.errors, faults: e.faults, host: e.host }).toEqual({
        requests: truth?.requests,
        errors: truth?.errors,
        faults: truth?.faults,
        host: truth?.host,
      });
    }
    expect(snapshot.rules.map((r) => r.RuleName).sort()).toEqual(
      scenario.snapshot.rules.map((r) => r.RuleName).sort(),
    );
    expect(collection.statistics.length).toBeGreaterThan(0);
    expect(collection.warnings).toEqual([]);
  });

  it("estimates 4xx and 5xx from sampled error traces, de-biased by the sampling probability, where no metric has them", async () => {
    // Prepare: a source with a request metric only; 10 requests/s, 10% faults, 5% errors,
    // Default at 1/s + 5% (each request sampled with p ≈ 0.145).
    const requestsOnly: MetricSourceInput = {
      type: "custom",
      namespace: "Shop",
      metrics: { requests: "Requests" },
      service: "${Service}",
      method: "${Method}",
      path: "${Route}",
    };
    const sandbox = await sandboxWith({
      seed: 5,
      metricSources: [requestsOnly],
      scenario: steadyScenario(
        [
          { service: "orders", path: "/orders/{id}", requests: 3000, faults: 300, errors: 150 },
          { service: "billing", method: "POST", path: "/invoices", requests: 3000, faults: 300, errors: 150 },
        ],
        { periods: 12 },
      ),
    });
    sandbox.advance(3600);

    // Act
    const collection = await collect(sandbox, {
      metricSources: [requestsOnly],
      collection: { windowSeconds: 3600, periodSeconds: 300, traceLookbackSeconds: 3600 },
    });

    // Assess: 3600 faults and 1800 errors per endpoint in the hour.
    const p = samplingProbability(20, 1, 0.05);
    for (const endpoint of collection.snapshot.endpoints) {
      const faults = endpoint.faults.reduce((a, b) => a + b, 0);
      const errors = endpoint.errors.reduce((a, b) => a + b, 0);
      expect(Math.abs(faults - 3600) / 3600).toBeLessThan(0.15);
      expect(Math.abs(errors - 1800) / 1800).toBeLessThan(0.2);
    }
    const orders = collection.errorTraces.byEndpoint.find((e) => e.endpoint.startsWith("orders|"));
    expect(orders?.sampledFaults).toBeLessThan(3600 * p * 1.3);
    expect(orders?.estimatedFaults).toBeGreaterThan(3600 * 0.85);
    expect(collection.errorTraces.unattributed).toBe(0);
  });

  it("stops scanning traces at maxTracesScanned and says the estimates are partial", async () => {
    // Prepare: everything sampled, so there are 600 traces to scan.
    const sandbox = await sandboxWith({
      pageSizes: { tracesScannedPerCall: 20 },
      scenario: steadyScenario([{ service: "orders", path: "/orders", requests: 300, faults: 30 }], {
        periods: 2,
        rules: [ruleFor("Default", { Priority: 10000, FixedRate: 1, ReservoirSize: 0 })],
      }),
    });
    sandbox.advance(600);

    // Act
    const collection = await collect(sandbox, {
      metricSources: sandbox.metricSources,
      collection: { windowSeconds: 600, periodSeconds: 300, maxTracesScanned: 50 },
    });

    // Assess: three calls of 20 traces, then no more.
    expect(collection.errorTraces.truncated).toBe(true);
    expect(collection.errorTraces.tracesScanned).toBe(60);
    expect(collection.usage.calls.GetTraceSummaries).toBe(3);
    expect(sandbox.traceScans.tracesScanned).toBe(60);
    expect(collection.usage.costUsd.traceScans).toBeCloseTo(60 * 0.5e-6, 12);
    expect(collection.warnings.join("\n")).toMatch(/maxTracesScanned 50/);
  });

  it.each([
    ["one hour", 3600, 6],
    // 500 queries × 288 periods = 144,000 datapoints > 100,800 a call: every batch takes 2 pages.
    ["one day", 86_400, 12],
  ])(
    "reads 1,000 API Gateway endpoints over %s in ⌈3N/500⌉ GetMetricData calls plus pages",
    async (_label, windowSeconds, expectedCalls) => {
      // Prepare: detailed REST API metrics of 1,000 resources, one datapoint per period.
      const sandbox = await sandboxWith({ start: start + windowSeconds * 1000 });
      const n = 1000;
      for (let i = 0; i < n; i++) {
        const dims = [
          { Name: "ApiName", Value: "shop" },
          { Name: "Method", Value: "GET" },
          { Name: "Resource", Value: `/r${i}/{id}` },
          { Name: "Stage", Value: "prod" },
        ];
        for (const [metric, value] of [
          ["Count", 10],
          ["4XXError", 1],
          ["5XXError", 0],
        ] as const) {
          for (let t = 0; t < windowSeconds; t += 300)
            sandbox.metrics.put("AWS/ApiGateway", metric, dims, start + t * 1000, value);
        }
      }

      // Act: the default metric sources (REST and HTTP APIs).
      const collection = await collect(sandbox, { collection: { windowSeconds, periodSeconds: 300 } });

      // Assess
      const periods = windowSeconds / 300;
      const batches = Math.ceil((3 * n) / METRIC_QUERIES_PER_CALL);
      expect(batches).toBe(6);
      expect(collection.usage.calls.GetMetricData).toBe(expectedCalls);
      expect(collection.usage.calls.GetMetricData).toBe(batches * Math.ceil((500 * periods) / 100_800));
      expect(collection.usage.calls.ListMetrics).toBe(2 + 1);
      expect(collection.usage.metricsRequested).toBe(3 * n * (expectedCalls / batches));
      expect(collection.usage.costUsd.metricData).toBeCloseTo(
        (3 * n * (expectedCalls / batches) * 0.01) / 1000,
        9,
      );
      expect(collection.snapshot.endpoints).toHaveLength(n);
      expect(collection.snapshot.endpoints[0]).toMatchObject({
        service: "shop/prod",
        serviceType: "AWS::ApiGateway::Stage",
        requests: new Array(periods).fill(10),
        errors: new Array(periods).fill(1),
      });
    },
  );

  it("gets through throttling and dropped connections with the SDK's retries", async () => {
    // Prepare
    const scenario = steadyScenario([{ service: "orders", path: "/orders", requests: 60, faults: 6 }], {
      periods: 2,
    });
    const sandbox = await sandboxWith({
      scenario,
      faults: {
        GetMetricData: { throttleRate: 1, times: 1 },
        ListMetrics: { dropRate: 1, times: 1 },
        GetSamplingRules: { serverErrorRate: 1, times: 1 },
      },
    });
    sandbox.advance(600);

    // Act
    const collection = await collect(sandbox, {
      metricSources: sandbox.metricSources,
      collection: { windowSeconds: 600, periodSeconds: 300 },
    });

    // Assess
    expect(sandbox.faults.injected).toHaveLength(3);
    expect(collection.snapshot.endpoints[0]).toMatchObject({ requests: [60, 60], faults: [6, 6] });
  });
});
