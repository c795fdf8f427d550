/**
 * The scheduled tuner Lambda (functions/tuner.ts) invoked as Lambda would invoke it — a
 * scheduled EventBridge event and a Lambda context — with its real SDK clients pointed, through
 * the SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables, at the in-process sandbox (X-Ray,
 * CloudWatch), dynalite (DynamoDB) and a local SSM parameter store. No AWS account is used.
 * The runs follow one another in one account, as the schedule would make them.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Context, ScheduledEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it, type MockInstance, vi } from "vitest";
import { stringify as stringifyYaml } from "yaml";
import { type Sandbox, startSandbox } from "../../sandbox/index.ts";
import { AuditStore } from "../../shared/aws/audit-store.ts";
import { StateStore } from "../../shared/aws/state-store.ts";
import { type ConfigInput, parseSnapshot } from "../../shared/domain/formats.ts";
import type { TuningSummary } from "../../shared/pipeline.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";
import { type LocalParameterStore, startParameterStore } from "../support/parameter-store.ts";
import { tunerEnvironment } from "../support/tuner-environment.ts";

const PARAMETER = "/xray-governor/test/config";
const WRITES = [
  "CreateSamplingRule",
  "UpdateSamplingRule",
  "DeleteSamplingRule",
  "TagResource",
  "UntagResource",
];

let sandbox: Sandbox;
let dynamo: LocalDynamo;
let parameters: LocalParameterStore;
let audit: AuditStore;
let state: StateStore;
let handler: (event: ScheduledEvent, context: Context) => Promise<TuningSummary>;
let stdout: MockInstance<typeof process.stdout.write>;
let stderr: MockInstance<typeof process.stderr.write>;

beforeAll(async () => {
  const snapshot = parseSnapshot(
    JSON.parse(readFileSync(new URL("../fixtures/small.snapshot.json", import.meta.url), "utf8")),
  );
  sandbox = await startSandbox({ scenario: snapshot, region: snapshot.region });
  sandbox.advance(24 * 300); // the scenario's two hours of traffic
  dynamo = await startLocalDynamo({ tablePrefix: "tuner-" });
  parameters = await startParameterStore();
  audit = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
  state = new StateStore(dynamo.client, dynamo.tables.StateTable);

  // What serverless.yml sets, and where the SDK finds the (local) services and dummy credentials.
  const env: Record<string, string> = {
    ...tunerEnvironment({ sandbox, dynamo, parameters }, PARAMETER),
    POWERTOOLS_SERVICE_NAME: "xray-governor",
  };
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  vi.stubEnv("AWS_PROFILE", undefined);
  // The Lambda's clock is the sandbox's virtual one: the snapshot window ends at "now".
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(sandbox.clock.date());
  ({ handler } = await import("../../functions/tuner.ts"));
});

afterAll(async () => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
  await sandbox?.close();
  await dynamo?.stop();
  await parameters?.stop();
});

beforeEach(() => {
  // Powertools writes log lines and EMF metrics to standard output (errors to standard error).
  stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
  stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
  return () => {
    stdout.mockRestore();
    stderr.mockRestore();
  };
});

function configFor(fields: Partial<ConfigInput>): ConfigInput {
  return {
    budget: { monthlyUsd: 30 },
    critical: [{ method: "POST", path: "/checkout", minFixedRate: 1 }],
    ruleQuota: 10,
    metricSources: sandbox.metricSources,
    collection: { windowSeconds: 24 * 300, periodSeconds: 300 },
    ...fields,
  };
}

function scheduledEvent(): ScheduledEvent {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: "123456789012",
    time: sandbox.clock
      .date()
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z"),
    region: sandbox.region,
    resources: [
      "arn:aws:events:us-east-1:123456789012:rule/xray-governor-dev-TunerEventsRuleSchedule1-1A2B3C",
    ],
    detail: {},
  };
}

function lambdaContext(): Context {
  const name = "xray-governor-dev-tuner";
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${name}`,
    memoryLimitInMB: "1024",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: "2026/11/16/[$LATEST]0123456789abcdef0123456789abcdef",
    getRemainingTimeInMillis: () => 290_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Invokes the handler; returns its result, the X-Ray calls it made, and what it printed. */
async function invoke(): Promise<{
  summary: TuningSummary;
  writes: number;
  xrayCalls: number;
  output: Record<string, unknown>[];
}> {
  const before = { ...sandbox.calls };
  const summary = await handler(scheduledEvent(), lambdaContext());
  const delta = (name: string) => (sandbox.calls[name] ?? 0) - (before[name] ?? 0);
  return {
    summary,
    writes: WRITES.reduce((sum, name) => sum + delta(name), 0),
    xrayCalls: Object.keys(sandbox.calls).reduce((sum, name) => sum + delta(name), 0),
    output: printedJson(),
  };
}

function printedJson(): Record<string, unknown>[] {
  return [...stdout.mock.calls, ...stderr.mock.calls]
    .flatMap(([chunk]) => String(chunk).split("\n"))
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function managedRuleNames(): string[] {
  return sandbox.rules
    .samplingRules()
    .map((r) => r.RuleName)
    .filter((name) => name.startsWith("xgov-"))
    .sort();
}

describe("the scheduled tuner", () => {
  it("mode off: reads the config and nothing else, writes nothing", async () => {
    // Prepare
    parameters.put(PARAMETER, JSON.stringify(configFor({ mode: "off" })));
    const reads = parameters.reads;
    // Act
    const { summary, xrayCalls, output } = await invoke();
    // Assess
    expect(summary).toMatchObject({ outcome: "skipped", mode: "off", ruleWrites: 0 });
    expect(summary.reasons).toEqual(['config.mode is "off": the governor changes nothing']);
    expect(parameters.reads).toBe(reads + 1);
    expect(xrayCalls).toBe(0);
    expect(await audit.listRecent()).toEqual([]);
    expect(await state.readMonthToDate()).toBeUndefined();
    const line = output.find((l) => l.message === "tuning run skipped");
    expect(line).toMatchObject({
      level: "INFO",
      function_name: "xray-governor-dev-tuner",
      service: "xray-governor",
    });
  });

  it("freeze: the kill switch holds in auto mode, from the very next run", async () => {
    parameters.put(PARAMETER, JSON.stringify(configFor({ mode: "auto", freeze: true })));

    const { summary, xrayCalls } = await invoke();

    expect(summary.outcome).toBe("skipped");
    expect(summary.reasons[0]).toMatch(/config\.freeze is true/);
    expect(xrayCalls).toBe(0);
    expect(managedRuleNames()).toEqual([]);
    expect(await audit.listRecent()).toEqual([]);
  });

  it("report: collects and plans, logs and publishes the plan summary, writes nothing", async () => {
    parameters.put(PARAMETER, JSON.stringify(configFor({ mode: "report" })));

    const { summary, writes, xrayCalls, output } = await invoke();

    expect(summary.outcome).toBe("reported");
    expect(xrayCalls).toBeGreaterThan(0);
    expect(writes).toBe(0);
    expect(summary.endpoints).toBe(6);
    expect(summary.projectedMonthlyUsd).toBeGreaterThan(0);
    expect(summary.projectedMonthlyUsd).toBeLessThanOrEqual(30);
    expect(summary.actions?.create).toBeGreaterThan(0);
    expect(managedRuleNames()).toEqual([]);
    expect(await audit.listRecent()).toEqual([]);
    expect(await state.readMonthToDate()).toBeUndefined();
    // The summary as one structured log line, and as CloudWatch metrics in EMF.
    const line = output.find((l) => l.message === "tuning run reported");
    expect(line?.summary).toMatchObject({ outcome: "reported", planId: summary.planId });
    const emf = output.find((l) => "ProjectedMonthlyUsd" in l);
    expect(emf?.ProjectedMonthlyUsd).toBeCloseTo(summary.projectedMonthlyUsd ?? Number.NaN, 6);
    expect(emf?.PlannedActions).toBe(
      (summary.actions?.create ?? 0) + (summary.actions?.update ?? 0) + (summary.actions?.delete ?? 0),
    );
    expect(JSON.stringify(emf?._aws)).toContain('"Namespace":"XRayGovernor"');
  });

  it("approve (config in YAML): plans and says approval is pending, writes nothing", async () => {
    parameters.put(PARAMETER, stringifyYaml(configFor({ mode: "approve" })));

    const { summary, writes, output } = await invoke();

    expect(summary.outcome).toBe("approval pending");
    expect(writes).toBe(0);
    expect(output.some((l) => String(l.message).startsWith("approval pending"))).toBe(true);
    expect(await audit.listRecent()).toEqual([]);
  });

  it("a bad config fails the run with the field and the problem, and changes nothing", async () => {
    parameters.put(PARAMETER, JSON.stringify(configFor({ mode: "auto", budget: { monthlyUsd: -5 } })));
    const before = { ...sandbox.calls };

    await expect(invoke()).rejects.toThrow(/budget\.monthlyUsd: must be more than 0/);

    expect(sandbox.calls).toEqual(before);
    const line = printedJson().find((l) => l.level === "ERROR");
    expect(line?.message).toBe("tuning run stopped before changing any rule");
  });

  it("a config whose rule prefix the deployment may not write is refused before any call", async () => {
    parameters.put(
      PARAMETER,
      JSON.stringify(configFor({ mode: "auto", rules: { namePrefix: "other-" } as ConfigInput["rules"] })),
    );
    const before = { ...sandbox.calls };

    await expect(invoke()).rejects.toThrow(
      /rules\.namePrefix: is "other-" but this deployment may only write/,
    );

    expect(sandbox.calls).toEqual(before);
  });

  it("auto beyond the guard rails: escalates with the reason and writes nothing", async () => {
    parameters.put(
      PARAMETER,
      JSON.stringify(configFor({ mode: "auto", guardRails: { maxRuleChanges: 0, maxSpendIncrease: 0 } })),
    );

    const { summary, writes } = await invoke();

    expect(summary.outcome).toBe("escalated");
    expect(summary.reasons.join("\n")).toMatch(/more than guardRails\.maxRuleChanges \(0\)/);
    expect(writes).toBe(0);
    expect(managedRuleNames()).toEqual([]);
    expect(await audit.listRecent()).toEqual([]);
  });

  it("auto: applies the plan, records the audit entry and the month-to-date traces", async () => {
    // Guard rails wide open: this is about applying (the planner decides how much changes).
    const guardRails = { maxRuleChanges: 25, maxSpendIncrease: 1 };
    parameters.put(PARAMETER, JSON.stringify(configFor({ mode: "auto", guardRails })));

    const { summary, writes } = await invoke();

    expect(summary.outcome).toBe("applied");
    expect(writes).toBeGreaterThan(0);
    expect(summary.ruleWrites).toBe(writes);
    expect(managedRuleNames().length).toBe(summary.actions?.create);
    const records = await audit.listRecent();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      id: summary.auditId,
      actor: "scheduler",
      mode: "auto",
      planId: summary.planId,
      result: "applied",
      region: sandbox.region,
    });
    expect(records[0].after.map((r) => r.RuleName).filter((n) => n.startsWith("xgov-"))).toEqual(
      expect.arrayContaining(managedRuleNames()),
    );
    const monthToDate = await state.readMonthToDate();
    expect(monthToDate?.tracesRecorded).toBeGreaterThan(0);
    expect(summary.monthToDateTraces).toBe(monthToDate?.tracesRecorded);
  });

  it("auto, the next run on the same traffic: zero writes and no new audit record", async () => {
    const rulesBefore = managedRuleNames();

    const { summary, writes } = await invoke();

    expect(summary.outcome).toBe("unchanged");
    expect(writes).toBe(0);
    expect(managedRuleNames()).toEqual(rulesBefore);
    expect(await audit.listRecent()).toHaveLength(1);
  });
});
