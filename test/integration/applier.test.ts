/**
 * The applier through the real X-Ray SDK client against the sandbox, with the audit store on
 * dynalite: apply, re-apply, rollback, a quota mostly filled by people's rules, interrupted
 * applies, and throttling and 5xx on every call.
 */
import { paginateGetSamplingRules, type SamplingRuleRecord, type XRayClient } from "@aws-sdk/client-xray";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type InitialRule, type Sandbox, type SandboxOptions, startSandbox } from "../../sandbox/index.ts";
import {
  type ApplyOptions,
  applyRuleSet,
  rollbackChangeSet,
  UnknownAuditRecordError,
  xrayRetryStrategy,
} from "../../shared/aws/applier.ts";
import { AuditStore } from "../../shared/aws/audit-store.ts";
import { readAccountRules } from "../../shared/aws/sampling-rules.ts";
import { parseConfig, type SamplingRule } from "../../shared/domain/formats.ts";
import { ReconcileError, sameRuleSet } from "../../shared/domain/reconcile.ts";
import { defaultRule, samplingRule } from "../../shared/domain/sampling-rule.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";
import { type InterruptAt, watchXRayCalls } from "../support/xray-call-log.ts";

const OWNER = { Key: "xray-governor:managed", Value: "true" };

let dynamo: LocalDynamo;
let audit: AuditStore;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
  audit = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
});
afterAll(async () => {
  await dynamo?.stop();
});
const sandboxes: Sandbox[] = [];
afterEach(async () => {
  await Promise.all(sandboxes.splice(0).map((s) => s.close()));
});

const rule = (name: string, fields: Partial<SamplingRule> = {}) =>
  samplingRule({ RuleName: name, ...fields });
const managed = (name: string, fields: Partial<SamplingRule> = {}) =>
  rule(`xgov-${name}`, { Tags: [OWNER], ...fields });
/** People's rules: one of them even has the governor's prefix, but not its tag. */
const peoplesRules = (count: number) =>
  Array.from({ length: count }, (_, i) =>
    rule(i === 0 ? "xgov-by-hand" : `team-${i}`, {
      Priority: 10 + i,
      ServiceName: `svc-${i}`,
      FixedRate: 0.5,
      Tags: [{ Key: "owner", Value: `team-${i}` }],
    }),
  );

async function sandboxWith(rules: SamplingRule[], options: SandboxOptions = {}): Promise<Sandbox> {
  const sandbox = await startSandbox({
    start: "2026-11-17T10:00:00.000Z",
    rules: rules as InitialRule[],
    ...options,
  });
  sandboxes.push(sandbox);
  return sandbox;
}

/** A real SDK client on the sandbox with the applier's retry strategy (short delays for tests). */
function clientFor(sandbox: Sandbox, interrupt?: InterruptAt) {
  const xray = sandbox.xrayClient({ retryStrategy: xrayRetryStrategy({ baseDelayMs: 2, maxDelayMs: 20 }) });
  return { xray, log: watchXRayCalls(xray, sandbox, interrupt) };
}

function options(xray: XRayClient, ruleQuota = 25, extra: Partial<ApplyOptions> = {}): ApplyOptions {
  return {
    xray,
    config: parseConfig({ budget: { monthlyUsd: 100 }, ruleQuota }),
    actor: "test",
    mode: "apply",
    planId: "plan-test",
    audit,
    ...extra,
  };
}

async function rawRecords(xray: XRayClient): Promise<SamplingRuleRecord[]> {
  const records: SamplingRuleRecord[] = [];
  for await (const page of paginateGetSamplingRules({ client: xray }, {}))
    records.push(...(page.SamplingRuleRecords ?? []));
  return records;
}

/** People's rules exactly as X-Ray returns them (timestamps included), with their tags. */
async function unmanagedSnapshot(sandbox: Sandbox): Promise<string> {
  const xray = sandbox.xrayClient();
  const records = await rawRecords(xray);
  const rules = await readAccountRules(xray);
  const people = new Set(
    rules
      .filter((r) => r.RuleName !== "Default" && !r.Tags.some((t) => t.Key === OWNER.Key))
      .map((r) => r.RuleName),
  );
  return JSON.stringify(
    records
      .filter((r) => people.has(r.SamplingRule?.RuleName ?? ""))
      .map((r) => ({ record: r, tags: rules.find((x) => x.RuleName === r.SamplingRule?.RuleName)?.Tags })),
  );
}

describe("applyRuleSet", () => {
  it("applies a rule set, records it, and a second apply makes zero write calls", async () => {
    // Prepare
    const people = peoplesRules(2);
    const sandbox = await sandboxWith([defaultRule(), ...people, managed("stale", { Priority: 3000 })]);
    const desired = [
      defaultRule({ FixedRate: 0.01, ReservoirSize: 0 }),
      ...people,
      managed("checkout", { Priority: 1000, HTTPMethod: "POST", URLPath: "/checkout", FixedRate: 1 }),
      managed("bulk", { Priority: 2000, URLPath: "/api/*", FixedRate: 0.02, ReservoirSize: 2 }),
    ];
    const { xray, log } = clientFor(sandbox);

    // Act
    const first = await applyRuleSet(desired, options(xray));
    const writesAfterFirst = log.writes().length;
    const second = await applyRuleSet(desired, options(xray));

    // Assess
    expect(first.status).toBe("applied");
    expect(first.operations.map((o) => o.description)).toEqual([
      "create xgov-checkout",
      "create xgov-bulk",
      "update Default (FixedRate, ReservoirSize)",
      "delete xgov-stale",
    ]);
    expect(sameRuleSet(await readAccountRules(xray), desired)).toBe(true);
    expect(writesAfterFirst).toBe(4);
    expect(second.status).toBe("unchanged");
    expect(second.writeCalls).toBe(0);
    expect(log.writes().length).toBe(writesAfterFirst);
    const record = await audit.get(first.audit?.id ?? "");
    expect(record).toMatchObject({ actor: "test", mode: "apply", planId: "plan-test", result: "applied" });
    expect(sameRuleSet(record?.after ?? [], desired)).toBe(true);
    expect(record?.before.map((r) => r.RuleName).sort()).toEqual([
      "Default",
      "team-1",
      "xgov-by-hand",
      "xgov-stale",
    ]);
  });

  it("refuses, with no write call and no audit record, a rule set that would change a person's rule", async () => {
    const people = peoplesRules(2);
    const sandbox = await sandboxWith([defaultRule(), ...people]);
    const { xray, log } = clientFor(sandbox);
    const before = await unmanagedSnapshot(sandbox);
    const recent = (await audit.listRecent(1))[0]?.id;

    const desired = [defaultRule(), { ...people[1], FixedRate: 1 }, people[0], managed("a")];
    await expect(applyRuleSet(desired, options(xray))).rejects.toThrow(ReconcileError);
    await expect(applyRuleSet(desired, options(xray))).rejects.toThrow(
      /team-1: is not managed by the governor/,
    );

    expect(log.writes()).toEqual([]);
    expect(await unmanagedSnapshot(sandbox)).toBe(before);
    expect((await audit.listRecent(1))[0]?.id).toBe(recent);
  });

  it("writes nothing and records nothing when the confirmation is declined, and shows exactly what it would do", async () => {
    const sandbox = await sandboxWith([defaultRule(), ...peoplesRules(1)]);
    const { xray, log } = clientFor(sandbox);
    const desired = [defaultRule(), ...peoplesRules(1), managed("a")];
    let shown: string[] = [];
    const result = await applyRuleSet(desired, {
      ...options(xray),
      confirm: (operations) => {
        shown = operations.map((op) => `${op.type} ${op.ruleName}`);
        return false;
      },
    });
    expect(shown).toEqual(["create xgov-a"]);
    expect(result.status).toBe("declined");
    expect(result.audit).toBeUndefined();
    expect(log.writes()).toEqual([]);
  });

  it("stays within a quota mostly filled by people's rules while replacing every managed rule", async () => {
    // Prepare: quota 10 = Default + 6 people's rules + 3 managed; all 3 managed rules are replaced.
    const people = peoplesRules(6);
    const old = [1, 2, 3].map((i) => managed(`old-${i}`, { Priority: 1000 + i, URLPath: `/old/${i}` }));
    const sandbox = await sandboxWith([defaultRule(), ...people, ...old], { ruleQuota: 10 });
    const desired = [
      defaultRule(),
      ...people,
      ...[1, 2, 3].map((i) => managed(`new-${i}`, { Priority: 2000 + i, URLPath: `/new/${i}` })),
    ];
    const { xray, log } = clientFor(sandbox);
    const before = await unmanagedSnapshot(sandbox);

    // Act
    const result = await applyRuleSet(desired, options(xray, 10));

    // Assess
    expect(result.status).toBe("applied");
    expect(log.maxRuleCount).toBeLessThanOrEqual(10);
    expect(sameRuleSet(await readAccountRules(xray), desired)).toBe(true);
    expect(await unmanagedSnapshot(sandbox)).toBe(before);
  });

  it("converges on the next run after an interruption at any write, before it is sent or after it is processed", async () => {
    const people = peoplesRules(3);
    const start = [
      defaultRule(),
      ...people,
      managed("keep", { Priority: 1500, Tags: [OWNER, { Key: "team", Value: "x" }] }),
      managed("gone-1", { Priority: 1100 }),
      managed("gone-2", { Priority: 1200 }),
    ];
    const desired = [
      defaultRule({ FixedRate: 0.2 }),
      ...people,
      managed("keep", { Priority: 1400, FixedRate: 0.3, Tags: [OWNER, { Key: "env", Value: "prod" }] }),
      managed("new-1", { Priority: 1000, URLPath: "/a" }),
      managed("new-2", { Priority: 1050, URLPath: "/b" }),
    ];
    const quota = start.length; // full: some deletes must come before creates
    const interruptedAt: string[] = [];
    for (const when of ["before", "after"] as const) {
      // Cut at every write in turn, until the cut falls after the last one.
      for (let write = 0; ; write++) {
        const sandbox = await sandboxWith(start, { ruleQuota: quota });
        const unmanagedBefore = await unmanagedSnapshot(sandbox);
        const interrupted = clientFor(sandbox, { write, when });
        const first = await applyRuleSet(desired, options(interrupted.xray, quota));
        if (first.status === "applied") break;
        interruptedAt.push(`${when} ${first.operations.find((o) => o.status === "failed")?.description}`);
        expect(first.error).toMatch(/SimulatedInterruption/);
        const next = clientFor(sandbox);
        const second = await applyRuleSet(desired, options(next.xray, quota));
        const third = await applyRuleSet(desired, options(next.xray, quota));
        // ("unchanged" when the lost answer was the last write's: the account is already right.)
        expect(["applied", "unchanged"]).toContain(second.status);
        expect(sameRuleSet(await readAccountRules(next.xray), desired)).toBe(true);
        expect(third.writeCalls).toBe(0);
        expect(Math.max(interrupted.log.maxRuleCount, next.log.maxRuleCount)).toBeLessThanOrEqual(quota);
        expect(await unmanagedSnapshot(sandbox)).toBe(unmanagedBefore);
        await sandbox.close();
      }
    }
    // 2 deletes, 2 creates, 2 updates, a tag and an untag; each cut both ways.
    expect(interruptedAt).toHaveLength(16);
  });

  it("converges under 30% throttling and 10% 5xx on every X-Ray operation, never over the quota", async () => {
    const people = peoplesRules(8);
    const quota = 20;
    const start = [
      defaultRule(),
      ...people,
      ...[1, 2, 3, 4, 5].map((i) => managed(`old-${i}`, { Priority: 1000 + i })),
    ];
    const desired = [
      defaultRule({ FixedRate: 0.02 }),
      ...people,
      managed("old-1", { Priority: 1001, FixedRate: 0.5 }),
      ...Array.from({ length: 10 }, (_, i) =>
        managed(`new-${i}`, { Priority: 2000 + i, URLPath: `/n/${i}` }),
      ),
    ];
    for (const seed of [1, 2, 3]) {
      const sandbox = await sandboxWith(start, { ruleQuota: quota, seed });
      const unmanagedBefore = await unmanagedSnapshot(sandbox);
      sandbox.faults.set("*", { throttleRate: 0.3, serverErrorRate: 0.1 });
      const { xray, log } = clientFor(sandbox);

      // Act: a run, and further runs only if one gave up (the scheduler's next runs).
      const runs = [];
      for (let run = 0; run < 5; run++) {
        const result = await applyRuleSet(desired, options(xray, quota));
        runs.push(result.status);
        if (result.status === "unchanged") break;
      }

      // Assess
      expect(runs.at(-1)).toBe("unchanged");
      expect(sandbox.faults.injected.length).toBeGreaterThan(10);
      expect(log.maxRuleCount).toBeLessThanOrEqual(quota);
      sandbox.faults.clear();
      expect(sameRuleSet(await readAccountRules(sandbox.xrayClient()), desired)).toBe(true);
      expect(await unmanagedSnapshot(sandbox)).toBe(unmanagedBefore);
    }
  });
});

describe("rollbackChangeSet", () => {
  it("restores the managed rules and Default an applied change set replaced, and audits itself", async () => {
    // Prepare: apply A, then B; roll B back.
    const people = peoplesRules(2);
    const sandbox = await sandboxWith([defaultRule(), ...people]);
    const { xray } = clientFor(sandbox);
    const planA = [
      defaultRule({ FixedRate: 0.1 }),
      ...people,
      managed("a", { FixedRate: 0.4 }),
      managed("b"),
    ];
    const planB = [
      defaultRule({ FixedRate: 0.01, ReservoirSize: 0 }),
      ...people,
      managed("a", { FixedRate: 0.9, URLPath: "/x" }),
      managed("c", { Priority: 4000 }),
    ];
    await applyRuleSet(planA, options(xray));
    const b = await applyRuleSet(planB, options(xray, 25, { planId: "plan-b" }));

    // Act
    const rollback = await rollbackChangeSet(b.audit?.id ?? "", { ...options(xray), audit, actor: "bob" });

    // Assess
    expect(rollback.status).toBe("applied");
    expect(sameRuleSet(await readAccountRules(xray), planA)).toBe(true);
    expect(await audit.get(rollback.audit?.id ?? "")).toMatchObject({
      actor: "bob",
      mode: "rollback",
      rollbackOf: b.audit?.id,
      result: "applied",
    });
  });

  it("refuses an unknown audit id, changing nothing", async () => {
    const sandbox = await sandboxWith([defaultRule(), ...peoplesRules(1)]);
    const { xray, log } = clientFor(sandbox);
    await expect(
      rollbackChangeSet("20260101T000000Z-abcdef", { ...options(xray), audit }),
    ).rejects.toBeInstanceOf(UnknownAuditRecordError);
    await expect(rollbackChangeSet("nonsense", { ...options(xray), audit })).rejects.toThrow(
      /no audit record "nonsense"/,
    );
    expect(log.attempts).toEqual([]);
  });
});
