/**
 * The traffic simulator behind the sandbox, observed the way the governor observes X-Ray:
 * through GetSamplingStatisticSummaries, GetTraceSummaries and GetSamplingTargets with the
 * real SDK client.
 */
import { request } from "node:http";
import { createRequire } from "node:module";
import {
  GetSamplingStatisticSummariesCommand,
  GetSamplingTargetsCommand,
  GetTraceSummariesCommand,
  InvalidRequestException,
  paginateGetSamplingStatisticSummaries,
  paginateGetTraceSummaries,
  type SamplingStatisticSummary,
  type TraceSummary,
  UpdateSamplingRuleCommand,
  type XRayClient,
} from "@aws-sdk/client-xray";
import { afterEach, describe, expect, it } from "vitest";
import { type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";
import { samplingProbability } from "../../shared/domain/sampling.ts";
import { ruleFor, SCENARIO_START, steadyScenario } from "../support/sandbox-scenarios.ts";

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

async function sandboxWith(options: SandboxOptions): Promise<{ sandbox: Sandbox; xray: XRayClient }> {
  const sandbox = await startSandbox(options);
  sandboxes.push(sandbox);
  return { sandbox, xray: sandbox.xrayClient() };
}

async function statistics(xray: XRayClient): Promise<SamplingStatisticSummary[]> {
  const out: SamplingStatisticSummary[] = [];
  for await (const page of paginateGetSamplingStatisticSummaries({ client: xray }, {})) {
    out.push(...(page.SamplingStatisticSummaries ?? []));
  }
  return out;
}

function totals(windows: SamplingStatisticSummary[], rule: string, from = 0, to = Number.POSITIVE_INFINITY) {
  let requests = 0;
  let sampled = 0;
  for (const w of windows) {
    const t = w.Timestamp?.getTime() ?? 0;
    if (w.RuleName !== rule || t < from || t >= to) continue;
    requests += w.RequestCount ?? 0;
    sampled += w.SampledCount ?? 0;
  }
  return { requests, sampled };
}

async function traces(xray: XRayClient, from: Date, to: Date, filter?: string) {
  const out: TraceSummary[] = [];
  let scanned = 0;
  let calls = 0;
  for await (const page of paginateGetTraceSummaries(
    { client: xray },
    { StartTime: from, EndTime: to, FilterExpression: filter },
  )) {
    calls++;
    scanned += page.TracesProcessedCount ?? 0;
    out.push(...(page.TraceSummaries ?? []));
  }
  return { summaries: out, scanned, calls };
}

const start = Date.parse(SCENARIO_START);
const minutes = (n: number) => new Date(start + n * 60_000);

describe("sandbox traffic simulator", () => {
  it("replays every request of the scenario into 10-second statistic windows", async () => {
    // Prepare: 600 requests per 5 minutes on one endpoint, Default rule only.
    const { sandbox, xray } = await sandboxWith({
      scenario: steadyScenario([{ service: "orders", path: "/orders", requests: 600 }], { periods: 2 }),
    });

    // Act
    sandbox.advance(600);
    const windows = await statistics(xray);

    // Assess
    expect(totals(windows, "Default").requests).toBe(1200);
    expect(new Set(windows.map((w) => w.Timestamp?.getTime() ?? 0).map((t) => t % 10_000))).toEqual(
      new Set([0]),
    );
    expect(windows.length).toBeGreaterThan(50);
    expect(sandbox.clock.now()).toBe(start + 600_000);
  });

  it.each([
    ["a busy endpoint (50/s) under reservoir 5 + 10%", 15_000, 5, 0.1, 0.03],
    ["a quiet endpoint (0.5/s) under reservoir 1 + 5%", 150, 1, 0.05, 0.08],
  ])(
    "samples %s at the share the model predicts (within the stated relative tolerance)",
    async (_label, perPeriod, reservoir, fixedRate, tolerance) => {
      // Prepare
      const { sandbox, xray } = await sandboxWith({
        seed: 7,
        scenario: steadyScenario([{ service: "orders", path: "/orders/{id}", requests: perPeriod }], {
          periods: 6,
          rules: [ruleFor("Default", { Priority: 10000, ReservoirSize: reservoir, FixedRate: fixedRate })],
        }),
      });

      // Act
      sandbox.advance(1800);
      const { requests, sampled } = totals(await statistics(xray), "Default");

      // Assess
      const expected = samplingProbability(perPeriod / 300, reservoir, fixedRate);
      expect(requests).toBe(perPeriod * 6);
      expect(Math.abs(sampled / requests - expected) / expected).toBeLessThan(tolerance);
      expect(sandbox.traces.size).toBe(sampled);
    },
  );

  it("applies a rule change to later statistics, not earlier ones", async () => {
    // Prepare: 30 requests/s, Default at 1/s + 5% (≈ 8%).
    const { sandbox, xray } = await sandboxWith({
      scenario: steadyScenario([{ service: "orders", path: "/orders", requests: 9000 }], { periods: 4 }),
    });
    sandbox.advance(600);

    // Act: sample everything from now on.
    await xray.send(
      new UpdateSamplingRuleCommand({
        SamplingRuleUpdate: { RuleName: "Default", FixedRate: 1, ReservoirSize: 0 },
      }),
    );
    sandbox.advance(600);
    const windows = await statistics(xray);

    // Assess
    const before = totals(windows, "Default", start, start + 600_000);
    const after = totals(windows, "Default", start + 600_000, start + 1_200_000);
    expect(before.sampled / before.requests).toBeCloseTo(samplingProbability(30, 1, 0.05), 1);
    expect(after.sampled).toBe(after.requests);
  });

  it("lets a rule change reach the simulated clients only after the propagation delay", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({
      rulePropagationSeconds: 300,
      scenario: steadyScenario([{ service: "orders", path: "/orders", requests: 9000 }], { periods: 4 }),
    });
    sandbox.advance(60);
    await xray.send(
      new UpdateSamplingRuleCommand({
        SamplingRuleUpdate: { RuleName: "Default", FixedRate: 1, ReservoirSize: 0 },
      }),
    );

    // Act
    sandbox.advance(540);
    const windows = await statistics(xray);

    // Assess: the first 5 minutes after the change still sample at ≈ 8%, then everything.
    const waiting = totals(windows, "Default", start + 120_000, start + 360_000);
    const applied = totals(windows, "Default", start + 420_000, start + 600_000);
    expect(waiting.sampled / waiting.requests).toBeLessThan(0.2);
    expect(applied.sampled).toBe(applied.requests);
  });

  it("routes each endpoint's requests to the first matching rule by priority", async () => {
    // Prepare: checkout at 100% by its own rule, health checks at 0 by theirs.
    const { sandbox, xray } = await sandboxWith({
      scenario: steadyScenario(
        [
          { service: "shop", method: "POST", path: "/checkout", requests: 300 },
          { service: "shop", path: "/health", requests: 3000 },
          { service: "shop", path: "/orders/{id}", requests: 600 },
        ],
        {
          periods: 2,
          rules: [
            ruleFor("checkout", { Priority: 1, HTTPMethod: "POST", URLPath: "/checkout", FixedRate: 1 }),
            ruleFor("health", { Priority: 2, URLPath: "/health", FixedRate: 0, ReservoirSize: 0 }),
          ],
        },
      ),
    });

    // Act
    sandbox.advance(600);
    const windows = await statistics(xray);

    // Assess
    expect(totals(windows, "checkout")).toEqual({ requests: 600, sampled: 600 });
    expect(totals(windows, "health")).toEqual({ requests: 6000, sampled: 0 });
    expect(totals(windows, "Default").requests).toBe(1200);
  });

  it("returns only sampled traces, with URL, method, status, fault/error flags, service and entry point", async () => {
    // Prepare: everything sampled, a fifth of the requests fail with 5xx and a tenth with 4xx.
    const { sandbox, xray } = await sandboxWith({
      scenario: steadyScenario(
        [
          {
            service: "orders",
            path: "/orders/{id}",
            host: "shop.example.com",
            requests: 100,
            faults: 20,
            errors: 10,
          },
        ],
        { periods: 1, rules: [ruleFor("Default", { Priority: 10000, FixedRate: 1, ReservoirSize: 0 })] },
      ),
    });
    sandbox.advance(300);

    // Act
    const all = await traces(xray, minutes(0), minutes(5));
    const failed = await traces(xray, minutes(0), minutes(5), "fault OR error");

    // Assess
    expect(all.summaries).toHaveLength(100);
    expect(failed.summaries).toHaveLength(30);
    expect(failed.summaries.filter((t) => t.HasFault)).toHaveLength(20);
    const trace = failed.summaries.find((t) => t.HasFault) as TraceSummary;
    expect(trace.Id).toMatch(/^1-[0-9a-f]{8}-[0-9a-f]{24}$/);
    expect(trace.Http?.HttpURL).toMatch(/^https:\/\/shop\.example\.com\/orders\/[0-9a-f]+$/);
    expect(trace.Http?.HttpMethod).toBe("GET");
    expect(trace.Http?.HttpStatus).toBeGreaterThanOrEqual(500);
    expect(trace.ServiceIds?.[0]).toMatchObject({ Name: "orders", Type: "AWS::Lambda::Function" });
    expect(trace.EntryPoint?.Name).toBe("orders");
    expect(new Set(all.summaries.map((t) => t.Id)).size).toBe(100);
  });

  it("pages GetTraceSummaries and counts every trace it scans", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({
      pageSizes: { traceSummaries: 7, tracesScannedPerCall: 40 },
      scenario: steadyScenario([{ service: "orders", path: "/orders", requests: 100, faults: 5 }], {
        periods: 1,
        rules: [ruleFor("Default", { Priority: 10000, FixedRate: 1, ReservoirSize: 0 })],
      }),
    });
    sandbox.advance(300);

    // Act
    const everything = await traces(xray, minutes(0), minutes(5));
    const faults = await traces(xray, minutes(0), minutes(5), "fault");

    // Assess
    expect(everything.summaries).toHaveLength(100);
    expect(everything.calls).toBe(Math.ceil(100 / 7));
    expect(everything.scanned).toBe(100);
    expect(faults.summaries).toHaveLength(5);
    expect(faults.scanned).toBe(100);
    expect(faults.calls).toBe(3);
    expect(sandbox.traceScans.tracesScanned).toBe(200);
  });

  it.each([
    ['service("orders")', 60],
    ['service("billing")', 40],
    ['http.method = "POST"', 40],
    ['http.url CONTAINS "/orders/"', 60],
    ['http.url BEGINSWITH "https://api.example.com/invoices"', 40],
    ["http.status >= 500", 10],
    ['fault AND service("billing")', 10],
    ['NOT fault AND (error OR http.method != "GET")', 30],
    ["!ok", 10],
    ['error = false && fault = false && service("orders")', 60],
  ])("filters trace summaries with %s", async (filter, expected) => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({
      scenario: steadyScenario(
        [
          { service: "orders", path: "/orders/{id}", requests: 60 },
          { service: "billing", method: "POST", path: "/invoices", requests: 40, faults: 10 },
        ],
        { periods: 1, rules: [ruleFor("Default", { Priority: 10000, FixedRate: 1, ReservoirSize: 0 })] },
      ),
    });
    sandbox.advance(300);

    // Act
    const found = await traces(xray, minutes(0), minutes(5), filter);

    // Assess
    expect(found.summaries).toHaveLength(expected);
  });

  it.each([
    ['annotation.customer = "x"', /unknown or unsupported keyword 'annotation\.customer'/],
    ["fault AND", /expected a keyword/],
    ["(fault", /expected '\)'/],
    ['http.status = "500"', /compares with a number/],
    ["http.url > 5", /not an operator http\.url supports/],
    ['service("a") { fault }', /sub-filters are not supported/],
    ["fault # error", /unexpected character/],
  ])("refuses the filter expression %s with InvalidRequestException", async (filter, message) => {
    const { xray } = await sandboxWith({});
    const error = await xray
      .send(
        new GetTraceSummariesCommand({
          StartTime: minutes(0),
          EndTime: minutes(5),
          FilterExpression: filter,
        }),
      )
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestException);
    expect((error as Error).message).toMatch(message);
  });

  it("refuses a trace query longer than 24 hours", async () => {
    const { xray } = await sandboxWith({});
    const error = await xray
      .send(new GetTraceSummariesCommand({ StartTime: minutes(0), EndTime: minutes(24 * 60 + 1) }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestException);
  });

  it("hands out reservoir quotas through GetSamplingTargets and records the clients' statistics", async () => {
    // Prepare
    const { sandbox, xray } = await sandboxWith({
      rules: [ruleFor("xgov-orders", { ReservoirSize: 10, FixedRate: 0.2 })],
      start: SCENARIO_START,
    });
    const report = (client: string) => ({
      RuleName: "xgov-orders",
      ClientID: client.padEnd(24, "0"),
      Timestamp: new Date(start),
      RequestCount: 40,
      SampledCount: 12,
      BorrowCount: 1,
    });

    // Act
    await xray.send(new GetSamplingTargetsCommand({ SamplingStatisticsDocuments: [report("a")] }));
    const second = await xray.send(
      new GetSamplingTargetsCommand({
        SamplingStatisticsDocuments: [report("b"), { ...report("b"), RuleName: "nope" }],
      }),
    );
    const summaries = await xray.send(new GetSamplingStatisticSummariesCommand({}));

    // Assess: two clients share the reservoir of 10.
    expect(second.SamplingTargetDocuments).toEqual([
      expect.objectContaining({ RuleName: "xgov-orders", FixedRate: 0.2, ReservoirQuota: 5, Interval: 10 }),
    ]);
    expect(second.UnprocessedStatistics?.[0]?.RuleName).toBe("nope");
    expect(second.LastRuleModification).toEqual(new Date(start));
    expect(summaries.SamplingStatisticSummaries).toEqual([
      expect.objectContaining({
        RuleName: "xgov-orders",
        RequestCount: 80,
        SampledCount: 24,
        BorrowCount: 2,
      }),
    ]);
    expect(sandbox.calls.GetSamplingTargets).toBe(2);
  });

  it("answers the raw requests aws-xray-sdk-core's centralized sampler sends (through the daemon)", async () => {
    // Prepare
    const { sandbox } = await sandboxWith({ rules: [ruleFor("xgov-orders")], start: SCENARIO_START });
    const post = (path: string, body: unknown) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const text = JSON.stringify(body);
        const req = request(
          `${sandbox.endpoint}${path}`,
          { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": text.length } },
          (res) => {
            let data = "";
            res.on("data", (chunk) => {
              data += chunk;
            });
            res.on("end", () => resolve(JSON.parse(data)));
          },
        );
        req.on("error", reject);
        req.end(text);
      });

    // Act: the same bodies the SDK's service connector builds.
    const rules = await post("/GetSamplingRules", {});
    const targets = await post("/SamplingTargets", {
      SamplingStatisticsDocuments: [
        {
          RuleName: "xgov-orders",
          ClientID: "0123456789abcdef01234567",
          RequestCount: 3,
          BorrowCount: 0,
          SampledCount: 1,
          Timestamp: Math.floor(start / 1000),
        },
      ],
    });

    // Assess: what the SDK's isRuleValid and fetchTargets check.
    const records = rules.SamplingRuleRecords as { SamplingRule: Record<string, unknown> }[];
    expect(records.map((r) => r.SamplingRule.RuleName)).toEqual(["Default", "xgov-orders"]);
    expect(records[1].SamplingRule).toMatchObject({ Version: 1, ResourceARN: "*", Attributes: {} });
    expect(typeof targets.LastRuleModification).toBe("number");
    expect(targets.SamplingTargetDocuments).toEqual([
      expect.objectContaining({ RuleName: "xgov-orders", FixedRate: 0.05, ReservoirQuota: 1 }),
    ]);
  });
  it("serves aws-xray-sdk-core's own centralized sampler: its rule poll and target poll", async () => {
    // Prepare: the SDK's service connector, pointed at the sandbox as its daemon.
    const { sandbox } = await sandboxWith({
      rules: [
        ruleFor("xgov-orders", { Priority: 5, FixedRate: 0.3, ReservoirSize: 4, URLPath: "/orders/*" }),
      ],
      start: SCENARIO_START,
    });
    const require = createRequire(import.meta.url);
    const xraySdk = require("aws-xray-sdk-core") as { setDaemonAddress(address: string): void };
    xraySdk.setDaemonAddress(`127.0.0.1:${sandbox.port}`);
    type SdkRule = { getName(): string; getRate(): number; getPriority(): number };
    const connector = require("aws-xray-sdk-core/dist/lib/middleware/sampling/service_connector.js") as {
      fetchSamplingRules(callback: (error: unknown, rules: SdkRule[]) => void): void;
      fetchTargets(
        rules: SdkRule[],
        callback: (error: unknown, targets: Record<string, { rate: number; quota: number }>) => void,
      ): void;
    };

    // Act
    const rules = await new Promise<SdkRule[]>((resolve, reject) =>
      connector.fetchSamplingRules((error, r) => (error ? reject(error) : resolve(r))),
    );
    const targets = await new Promise<Record<string, { rate: number; quota: number }>>((resolve, reject) =>
      connector.fetchTargets(rules, (error, t) => (error ? reject(error) : resolve(t))),
    );

    // Assess
    expect(rules.map((r) => [r.getName(), r.getPriority(), r.getRate()])).toEqual([
      ["Default", 10000, 0.05],
      ["xgov-orders", 5, 0.3],
    ]);
    expect(targets["xgov-orders"]).toMatchObject({ rate: 0.3, quota: 4 });
    expect(sandbox.calls.GetSamplingTargets).toBe(1);
  });
});
