import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseConfig, parseSnapshot } from "../../shared/domain/formats.ts";
import { planFromSnapshot } from "../../shared/pipeline.ts";

const snapshot = parseSnapshot(
  JSON.parse(readFileSync(new URL("../fixtures/small.snapshot.json", import.meta.url), "utf8")),
);

describe("planFromSnapshot", () => {
  it("projects the plan at raised quotas of 50 and 100 rules, and says how long planning took", () => {
    const plan = planFromSnapshot(snapshot, parseConfig({ budget: { monthlyUsd: 20 }, ruleQuota: 10 }));

    expect(plan.quota.ruleQuota).toBe(10);
    expect(plan.quota.whatIf.map((w) => w.ruleQuota)).toEqual([50, 100]);
    expect(plan.planningMs).toBeGreaterThan(0);
  });

  it("projects only quotas above the account's, or twice the quota when it is already above them", () => {
    const at = (ruleQuota: number) =>
      planFromSnapshot(snapshot, parseConfig({ budget: { monthlyUsd: 20 }, ruleQuota })).quota.whatIf.map(
        (w) => w.ruleQuota,
      );

    expect(at(60)).toEqual([100]);
    expect(at(150)).toEqual([300]);
  });
});
