import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditStore } from "../../shared/aws/audit-store.ts";
import { StateConflictError, StateStore } from "../../shared/aws/state-store.ts";
import type { NewAuditRecord } from "../../shared/domain/audit.ts";
import type { SamplingRule } from "../../shared/domain/formats.ts";
import type { StatisticWindow } from "../../shared/domain/month-to-date.ts";
import { samplingRule } from "../../shared/domain/sampling-rule.ts";
import { type LocalDynamo, startLocalDynamo } from "../support/dynalite.ts";

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
});
afterAll(async () => {
  await dynamo?.stop();
});

const rule = (name: string, fields: Partial<SamplingRule> = {}) =>
  samplingRule({ RuleName: name, Tags: [{ Key: "xray-governor:managed", Value: "true" }], ...fields });

function change(fields: Partial<NewAuditRecord> = {}): NewAuditRecord {
  return {
    actor: "alice",
    mode: "apply",
    planId: "plan-1",
    before: [rule("Default", { Priority: 10000, Tags: [] })],
    after: [rule("Default", { Priority: 10000, Tags: [] }), rule("xgov-a", { FixedRate: 0.123456789 })],
    operations: [{ type: "create", ruleName: "xgov-a", description: "create xgov-a", status: "done" }],
    result: "applied",
    ...fields,
  };
}

describe("AuditStore", () => {
  it("stores a change set and returns it unchanged by id", async () => {
    // Prepare
    const store = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
    // Act
    const stored = await store.record(change({ at: "2026-11-17T10:15:00.000Z" }));
    const fetched = await store.get(stored.id);
    // Assess
    expect(stored.id).toMatch(/^20261117T101500Z-[0-9a-f]{6}$/);
    expect(fetched).toEqual(stored);
    expect(fetched?.after[1].FixedRate).toBe(0.123456789);
  });

  it("lists the most recent change sets first", async () => {
    const store = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
    const older = await store.record(change({ at: "2026-12-01T08:00:00.000Z", actor: "older" }));
    const newer = await store.record(change({ at: "2026-12-01T09:00:00.000Z", actor: "newer" }));
    const recent = await store.listRecent(2);
    expect(recent.map((r) => r.id)).toEqual([newer.id, older.id]);
  });

  it("returns nothing for an unknown or malformed id", async () => {
    const store = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
    expect(await store.get("20991231T000000Z-000000")).toBeUndefined();
    expect(await store.get("'; drop table")).toBeUndefined();
  });

  it("keeps change sets over DynamoDB's item size limit by compressing the rule lists", async () => {
    const store = new AuditStore(dynamo.client, dynamo.tables.AuditTable);
    const many = Array.from({ length: 2000 }, (_, i) =>
      rule(`xgov-r${i}`, { URLPath: `/service-${i}/${"x".repeat(100)}/*` }),
    );
    const stored = await store.record(change({ before: many, after: many }));
    const fetched = await store.get(stored.id);
    expect(fetched?.before).toEqual(many);
    expect(JSON.stringify(many).length).toBeGreaterThan(400_000);
  });
});

describe("StateStore month-to-date", () => {
  const windows = (times: string[], sampled: number): StatisticWindow[] =>
    times.map((timestamp) => ({
      ruleName: "xgov-a",
      timestamp,
      requestCount: 100,
      sampledCount: sampled,
      borrowCount: 0,
    }));

  it("adds each statistic window once across runs and restarts, and fills the snapshot's monthToDate", async () => {
    // Prepare: a fresh table each time is not needed, the key is the same for every run.
    const table = dynamo.tables.StateTable;
    const first = new StateStore(dynamo.client, table);
    const seen = windows(["2026-11-17T10:00:00Z", "2026-11-17T10:00:10Z"], 4);
    // Act: one run, then a "restarted" store reading overlapping windows.
    await first.recordStatistics(seen, new Date("2026-11-17T10:00:30Z"));
    const restarted = new StateStore(dynamo.client, table);
    const second = await restarted.recordStatistics(
      [...seen, ...windows(["2026-11-17T10:00:20Z"], 5)],
      new Date("2026-11-17T10:01:00Z"),
    );
    // Assess
    expect(second.addedTraces).toBe(5);
    expect(await restarted.monthToDate(new Date("2026-11-17T11:00:00Z"))).toEqual({
      tracesRecorded: 13,
      since: "2026-11-17T10:00:00.000Z",
    });
  });

  it("counts windows once when two runs record the same windows at the same time", async () => {
    const store = new StateStore(dynamo.client, dynamo.tables.StateTable);
    const batch = windows(["2026-11-18T00:00:00Z", "2026-11-18T00:00:10Z", "2026-11-18T00:00:20Z"], 7);
    const before = (await store.readMonthToDate())?.tracesRecorded ?? 0;
    const now = new Date("2026-11-18T00:01:00Z");
    const results = await Promise.all(
      Array.from({ length: 4 }, () =>
        new StateStore(dynamo.client, dynamo.tables.StateTable).recordStatistics(batch, now),
      ),
    );
    expect(results.reduce((sum, r) => sum + r.addedTraces, 0)).toBe(21);
    expect((await store.readMonthToDate())?.tracesRecorded).toBe(before + 21);
  });

  it("refuses a write based on a stale version", async () => {
    const store = new StateStore(dynamo.client, dynamo.tables.StateTable);
    const version = await store.write("test-doc", { n: 1 }, undefined);
    await store.write("test-doc", { n: 2 }, version);
    await expect(store.write("test-doc", { n: 3 }, version)).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.read<{ n: number }>("test-doc"))?.value).toEqual({ n: 2 });
  });
});
